#!/usr/bin/env node
// The site's browser test: the site `spectrace site` built, loaded from file:// in headless
// Chromium (Debian's /usr/bin/chromium, driven by playwright-core), checked as a reader would
// use it. Run by `cargo xtask ci:site` and the `site` gate of `cargo xtask ci`:
//
//   node site/tests/browser.cjs --modules target/site-tests/node_modules \
//        --site site/out --screenshots reports/run
//
// Options (all optional):
//   --site DIR         the built site (default site/out)
//   --modules DIR      node_modules holding playwright-core (default: next to this file)
//   --screenshots DIR  where the dashboard screenshots go (default reports/run)
//   --chromium PATH    the browser (default $CHROMIUM, else /usr/bin/chromium)
//
// Every check prints `ok` or `FAIL` with what was expected and found; the last line is
// `N passed, M failed`. Exit 0 when all passed, 1 when a check failed, 2 when the test cannot
// run (no site, no browser, no playwright-core).
"use strict";

const fs = require("node:fs");
const path = require("node:path");
const vm = require("node:vm");
const { pathToFileURL } = require("node:url");
const { createRequire } = require("node:module");

const USAGE_ERROR = 2;
/** How long to wait for the page to react to a keystroke or a click. */
const REACT_TIMEOUT_MS = 5000;
/** Schemes a request may use: everything else leaves the machine. */
const LOCAL_SCHEMES = ["file:", "data:", "about:", "blob:"];

function parseArgs(argv) {
  const options = {
    site: "site/out",
    modules: path.join(__dirname, "node_modules"),
    screenshots: "reports/run",
    chromium: process.env.CHROMIUM || "/usr/bin/chromium",
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const match = /^--(site|modules|screenshots|chromium)(?:=(.*))?$/.exec(arg);
    if (!match) {
      throw new Error(`unexpected argument \`${arg}\``);
    }
    const value = match[2] !== undefined ? match[2] : argv[++i];
    if (!value) {
      throw new Error(`\`--${match[1]}\` needs a value`);
    }
    options[match[1]] = value;
  }
  return options;
}

/** The requirements of `assets/search-index.js`, read by evaluating the file on its own. */
function readIndex(site) {
  const file = path.join(site, "assets", "search-index.js");
  const sandbox = { window: {} };
  vm.runInNewContext(fs.readFileSync(file, "utf8"), sandbox, { filename: file });
  const index = sandbox.window.SPECTRACE_INDEX;
  if (!Array.isArray(index) || index.length === 0) {
    throw new Error(`${file} does not set window.SPECTRACE_INDEX to a non-empty array`);
  }
  return index;
}

/** The index key a filter select `filter-<name>` filters on, given its option values: the key
 * whose values hold most of the options (ties: `name` itself, then a key containing it, such
 * as `kinds` for `kind`), so `filter-section` may filter on a section title or its link. */
function filterKey(index, name, options) {
  const preference = (key) => (key === name ? 2 : key.toLowerCase().includes(name) ? 1 : 0);
  let best;
  for (const key of Object.keys(index[0])) {
    const values = new Set(index.flatMap((e) => fieldValues(e[key])));
    const found = options.filter((o) => values.has(o)).length;
    const score = [found, preference(key)];
    if (found > 0 && (!best || score[0] > best.score[0] || (score[0] === best.score[0] && score[1] > best.score[1]))) {
      best = { key, score };
    }
  }
  return best && best.key;
}

/** The index key holding a list of evidence kinds: `kind` itself or a key containing it. */
function kindsKey(index) {
  const keys = Object.keys(index[0]);
  return keys.includes("kind") ? "kind" : keys.find((k) => k.toLowerCase().includes("kind"));
}

/** The string values of a field: a string, the strings of an array, the string values of an
 * object (a section given as `{title, anchor}`), recursively. */
function fieldValues(value) {
  if (value === null || value === undefined) return [];
  if (Array.isArray(value)) return value.flatMap(fieldValues);
  if (typeof value === "object") return Object.values(value).flatMap(fieldValues);
  return [String(value)];
}

/** The lower-cased text of everything an index entry holds, for "does this item match". */
function entryText(entry) {
  return fieldValues(entry).join("\n").toLowerCase();
}

/** Collected results; each check is a named async function. */
class Checks {
  constructor() {
    this.passed = 0;
    this.failed = 0;
  }

  async run(name, body) {
    try {
      const note = await body();
      this.passed++;
      console.log(`ok   ${name}${note ? ` (${note})` : ""}`);
    } catch (error) {
      this.failed++;
      const message = error && error.message ? error.message : String(error);
      console.log(`FAIL ${name}\n     ${message.split("\n").join("\n     ")}`);
    }
  }
}

function assert(condition, message) {
  if (!condition) throw new Error(message);
}

/** Records what goes wrong on a page: console errors, uncaught exceptions, failed requests. */
function watch(page, problems) {
  page.on("console", (message) => {
    if (message.type() === "error") {
      const where = message.location();
      const at = where && where.url ? ` at ${where.url}:${where.lineNumber}` : "";
      problems.push(`console.error: ${message.text()}${at}`);
    }
  });
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  page.on("requestfailed", (request) => {
    const failure = request.failure();
    problems.push(`request failed: ${request.url()} (${failure ? failure.errorText : "?"})`);
  });
}

/** A browser context that records every request and aborts any that would leave the machine. */
async function newContext(browser, requests, options = {}) {
  const context = await browser.newContext(options);
  context.on("request", (request) => requests.push(request.url()));
  await context.route(/^(https?|wss?|ftp):/i, (route) => route.abort("blockedbyclient"));
  return context;
}

function nonLocal(requests) {
  return requests.filter((url) => !LOCAL_SCHEMES.some((s) => url.startsWith(s)));
}

/** Opens `file` of the site in a fresh page; returns the page and the problems it records. */
async function open(context, site, file) {
  const page = await context.newPage();
  const problems = [];
  watch(page, problems);
  const url = fileUrl(path.join(site, file));
  const response = await page.goto(url, { waitUntil: "load" });
  assert(response === null || response.ok(), `${file}: cannot load ${url}`);
  return { page, problems };
}

function fileUrl(file) {
  return pathToFileURL(path.resolve(file)).href;
}

function assertClean(file, problems) {
  assert(
    problems.length === 0,
    `${file}: ${problems.length} console/page/request errors:\n${problems.join("\n")}`
  );
}

async function assertViewport(page, file) {
  const viewport = await page.$('meta[name="viewport"]');
  assert(viewport !== null, `${file}: no <meta name="viewport">`);
}

/** The ids of the items now in `#results`, and what `#result-count` says. */
async function results(page) {
  return page.evaluate(() => ({
    // Items hidden with `hidden` or `display: none` do not count: they are not shown.
    ids: Array.from(document.querySelectorAll("#results li.result"))
      .filter((li) => li.getClientRects().length > 0)
      .map((li) => li.getAttribute("data-id")),
    count: (document.getElementById("result-count") || { textContent: "" }).textContent.trim(),
  }));
}

/** Waits until `#results` holds `predicate(n)` items; returns them. Fails naming `what`. */
async function waitForResults(page, predicate, what) {
  const deadline = Date.now() + REACT_TIMEOUT_MS;
  let now = await results(page);
  while (!predicate(now.ids.length)) {
    if (Date.now() > deadline) {
      throw new Error(`${what}: #results holds ${now.ids.length} items after ${REACT_TIMEOUT_MS} ms`);
    }
    await page.waitForTimeout(50);
    now = await results(page);
  }
  assert(
    now.count === String(now.ids.length),
    `${what}: #result-count says "${now.count}" but #results holds ${now.ids.length} items`
  );
  return now.ids;
}

/** A query that narrows the index: a word of some titles but not all, else an ID. */
function pickQuery(index) {
  const counts = new Map();
  for (const entry of index) {
    const words = new Set(String(entry.title || "").toLowerCase().match(/[a-z]{6,}/g) || []);
    for (const word of words) counts.set(word, (counts.get(word) || 0) + 1);
  }
  const fitting = [...counts.entries()]
    .filter(([, n]) => n >= 2 && n <= index.length / 2)
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  if (fitting.length > 0) return fitting[0][0];
  return index[Math.floor(index.length / 2)].id;
}

/** The colours a theme sets (root and body background, body text) and what marks the theme
 * on the root element. */
async function themeState(page) {
  return page.evaluate(() => ({
    background: [
      getComputedStyle(document.documentElement).backgroundColor,
      getComputedStyle(document.body).backgroundColor,
      getComputedStyle(document.body).color,
    ].join(" / "),
    marker: `${document.documentElement.getAttribute("data-theme") || ""}|${
      document.documentElement.className
    }|${document.body.className}`,
  }));
}

async function selfTest(browser, checks) {
  await checks.run("self-test: the console-error detector catches a deliberate console.error", async () => {
    const requests = [];
    const context = await newContext(browser, requests);
    try {
      const page = await context.newPage();
      const problems = [];
      watch(page, problems);
      await page.goto("about:blank");
      await page.evaluate(() => console.error("deliberate error from the self-test"));
      await page.evaluate(() => setTimeout(() => { throw new Error("deliberate throw"); }, 0));
      await page.waitForTimeout(100);
      assert(
        problems.some((p) => p.includes("console.error: deliberate error from the self-test")),
        `the detector missed console.error; it recorded: ${JSON.stringify(problems)}`
      );
      assert(
        problems.some((p) => p.startsWith("page error:") && p.includes("deliberate throw")),
        `the detector missed an uncaught exception; it recorded: ${JSON.stringify(problems)}`
      );
      // A CDN script: recorded, aborted before it leaves the machine.
      await page.evaluate(() => {
        const script = document.createElement("script");
        script.src = "https://cdn.example.invalid/lib.js";
        document.head.appendChild(script);
      });
      await page.waitForTimeout(200);
      assert(
        nonLocal(requests).includes("https://cdn.example.invalid/lib.js"),
        `the request recorder missed a CDN request; it recorded: ${JSON.stringify(requests)}`
      );
      return `caught ${problems.length} problems`;
    } finally {
      await context.close();
    }
  });
}

async function dashboard(browser, options, index, requests, checks) {
  const context = await newContext(browser, requests, {
    viewport: { width: 1280, height: 900 },
    colorScheme: "light",
  });
  try {
    const { page, problems } = await open(context, options.site, "index.html");
    const total = index.length;

    await checks.run("dashboard: the result list holds every requirement of the index", async () => {
      await assertViewport(page, "index.html");
      for (const id of ["search", "filter-level", "filter-status", "filter-section", "filter-kind", "result-count", "results", "theme-toggle"]) {
        assert((await page.$(`#${id}`)) !== null, `index.html has no #${id}`);
      }
      await waitForResults(page, (n) => n === total, `with no query (the index has ${total})`);
      return `${total} requirements`;
    });

    await checks.run("dashboard: typing into #search narrows the list to matching items", async () => {
      await page.reload({ waitUntil: "load" });
      await waitForResults(page, (n) => n === total, "after a reload");
      const query = pickQuery(index);
      await page.locator("#search").pressSequentially(query, { delay: 10 });
      const ids = await waitForResults(page, (n) => n < total && n >= 1, `after typing "${query}"`);
      const byId = new Map(index.map((e) => [e.id, e]));
      const stray = ids.filter((id) => !byId.has(id) || !entryText(byId.get(id)).includes(query.toLowerCase()));
      assert(stray.length === 0, `after typing "${query}", items that do not match: ${stray.slice(0, 10).join(", ")}`);
      await page.locator("#search").fill("");
      await waitForResults(page, (n) => n === total, `after clearing "${query}"`);
      return `"${query}": ${total} → ${ids.length} → ${total}`;
    });

    const narrowed = [];
    for (const filter of ["level", "status", "section", "kind"]) {
      await checks.run(`dashboard: #filter-${filter} selects the requirements that have the value`, async () => {
        const values = await page.$$eval(`#filter-${filter} option`, (os) => os.map((o) => o.value).filter((v) => v !== ""));
        assert(values.length > 0, `#filter-${filter} has no option besides "any"`);
        const key = filterKey(index, filter, values);
        assert(key !== undefined, `no option value of #filter-${filter} (${values.slice(0, 8).join(", ")}) is a value of a field of the index entries (${Object.keys(index[0]).join(", ")})`);
        const matching = (value) => index.filter((e) => fieldValues(e[key]).includes(value)).length;
        // Best an option that keeps some but not all; else one that keeps none (a repository
        // where every requirement is verified has no narrowing status); else any.
        const rank = (v) => (matching(v) >= 1 && matching(v) < total ? 0 : matching(v) === 0 ? 1 : 2);
        const value = [...values].sort((a, b) => rank(a) - rank(b))[0];
        const expected = matching(value);
        // A fresh page, so that an earlier failed check leaves no query or filter behind.
        await page.reload({ waitUntil: "load" });
        await waitForResults(page, (n) => n === total, "after a reload");
        await page.selectOption(`#filter-${filter}`, value);
        const ids = await waitForResults(page, (n) => n === expected, `after choosing ${filter} "${value}" (${expected} requirements of the index have ${key} "${value}")`);
        const byId = new Map(index.map((e) => [e.id, e]));
        const stray = ids.filter((id) => !byId.has(id) || !fieldValues(byId.get(id)[key]).includes(value));
        assert(stray.length === 0, `after choosing ${filter} "${value}", items without it: ${stray.slice(0, 10).join(", ")}`);
        await page.selectOption(`#filter-${filter}`, "");
        await waitForResults(page, (n) => n === total, `after resetting #filter-${filter}`);
        if (expected >= 1 && expected < total) narrowed.push(filter);
        return `${key} "${value}": ${total} → ${ids.length} → ${total}`;
      });
    }
    await checks.run("dashboard: a filter select narrows the list", async () => {
      assert(narrowed.length > 0, "no filter select had an option that keeps some but not all requirements");
      return narrowed.join(", ");
    });

    await checks.run("dashboard: the theme toggle switches the theme and the choice is kept", async () => {
      const before = await themeState(page);
      await page.click("#theme-toggle");
      await page.waitForTimeout(100);
      const after = await themeState(page);
      assert(
        before.background !== after.background,
        `the page's colours (root background / body background / text) stayed ${before.background} after clicking #theme-toggle (marker ${before.marker} → ${after.marker})`
      );
      await page.reload({ waitUntil: "load" });
      const reloaded = await themeState(page);
      assert(
        reloaded.background === after.background,
        `after a reload the background is ${reloaded.background}, not the chosen ${after.background} (localStorage)`
      );
      await page.click("#theme-toggle");
      return `${before.background} → ${after.background}`;
    });

    await checks.run("dashboard: screenshot", async () => {
      const file = path.resolve(options.screenshots, "site-dashboard.png");
      await page.evaluate(() => localStorage.clear());
      await page.reload({ waitUntil: "load" });
      await page.screenshot({ path: file });
      console.log(`     screenshot: ${file}`);
    });

    await checks.run("dashboard: no console, page or request errors", async () => assertClean("index.html", problems));
  } finally {
    await context.close();
  }
}

async function phone(browser, options, requests, checks) {
  const context = await newContext(browser, requests, {
    viewport: { width: 390, height: 844 },
    isMobile: true,
    hasTouch: true,
    deviceScaleFactor: 2,
    colorScheme: "light",
  });
  try {
    await checks.run("phone: the dashboard fits 390 px without scrolling sideways; screenshot", async () => {
      const { page, problems } = await open(context, options.site, "index.html");
      const file = path.resolve(options.screenshots, "site-dashboard-phone.png");
      await page.screenshot({ path: file });
      console.log(`     screenshot: ${file}`);
      const width = await page.evaluate(() => document.documentElement.scrollWidth);
      assert(width <= 391, `the page is ${width} px wide on a 390 px screen`);
      assertClean("index.html (phone)", problems);
    });
  } finally {
    await context.close();
  }
}

async function colorScheme(browser, options, requests, checks) {
  await checks.run("theme: the default follows prefers-color-scheme", async () => {
    const seen = {};
    for (const scheme of ["light", "dark"]) {
      const context = await newContext(browser, requests, { colorScheme: scheme });
      try {
        const { page, problems } = await open(context, options.site, "index.html");
        seen[scheme] = (await themeState(page)).background;
        assertClean(`index.html (${scheme})`, problems);
      } finally {
        await context.close();
      }
    }
    assert(seen.light !== seen.dark, `the same colours for a light and a dark preference: ${seen.light}`);
    return `light ${seen.light}; dark ${seen.dark}`;
  });
}

async function pages(browser, options, index, requests, checks) {
  const context = await newContext(browser, requests, { colorScheme: "dark" });
  try {
    const kindKey = kindsKey(index);
    const isSpecLink = (v) => /(^|\/)spec\/[^/]+\.html/.test(v);
    const specKey = "spec" in index[0] ? "spec" : Object.keys(index[0]).find((k) => fieldValues(index[0][k]).some(isSpecLink));
    const withEvidence = index.find((e) => kindKey && fieldValues(e[kindKey]).length > 0);

    await checks.run("spec page: requirement blocks carry their status badge", async () => {
      assert(specKey !== undefined, `no field of the index entries holds a spec/<name>.html link: ${JSON.stringify(index[0])}`);
      const entry = withEvidence || index[0];
      const href = fieldValues(entry[specKey]).find((v) => /spec\/[^/]+\.html/.test(v));
      const file = href.split("#")[0];
      const { page, problems } = await open(context, options.site, file);
      await assertViewport(page, file);
      const anchor = entry.id.toLowerCase();
      const badge = await page.$(`[id="${anchor}"] a.badge`);
      assert(badge !== null, `${file}: no element id="${anchor}" with an a.badge inside`);
      const [cls, link] = await badge.evaluate((a) => [a.className, a.getAttribute("href")]);
      assert(cls.split(/\s+/).includes(`status-${entry.status}`), `${file}#${anchor}: badge class "${cls}", expected status-${entry.status}`);
      assert(link === `#${anchor}`, `${file}#${anchor}: badge links to "${link}", expected #${anchor} (the requirement's own URL)`);
      assert((await page.$("#theme-toggle")) !== null, `${file} has no #theme-toggle`);
      assertClean(file, problems);
      return `${file}#${anchor}`;
    });

    await checks.run("requirement URL: its spec page at its anchor, evidence items show file:line", async () => {
      assert(withEvidence !== undefined, `no requirement of the index has evidence (field ${kindKey})`);
      const anchor = withEvidence.id.toLowerCase();
      const url = fieldValues(withEvidence.page).find((v) => v.endsWith(`#${anchor}`));
      assert(url !== undefined, `${withEvidence.id}: its page ${JSON.stringify(withEvidence.page)} is not <spec page>#${anchor}`);
      const file = url.split("#")[0];
      const { page, problems } = await open(context, options.site, file);
      await assertViewport(page, file);
      const selector = `[id="${anchor}-evidence"] li.evidence-item`;
      const items = await page.$$eval(selector, (lis) => lis.map((li) => li.textContent.replace(/\s+/g, " ").trim()));
      assert(items.length >= 1, `${file}: no ${selector}, though the index gives it evidence kinds ${JSON.stringify(withEvidence[kindKey])}`);
      const without = items.filter((text) => !/[^\s:]+:\d+/.test(text));
      assert(without.length === 0, `${file}: evidence items without file:line: ${JSON.stringify(without)}`);
      assert((await page.$("#theme-toggle")) !== null, `${file} has no #theme-toggle`);
      assertClean(file, problems);
      return `${file}: ${items.length} items, first "${items[0].slice(0, 80)}"`;
    });
  } finally {
    await context.close();
  }
}

/** `7/9` → [7, 9]; `stale` or anything else → null. */
function fraction(strength) {
  const match = /^(\d+)\/(\d+)$/.exec(String(strength || ""));
  return match ? [Number(match[1]), Number(match[2])] : null;
}

async function strength(browser, options, index, requests, checks) {
  const measured = index.filter((e) => e.strength);
  // Best a requirement with surviving mutants (caught < judged), else any measured one.
  const weak = measured.find((e) => fraction(e.strength) && fraction(e.strength)[0] < fraction(e.strength)[1]);
  const entry = weak || measured.find((e) => fraction(e.strength)) || measured[0];
  const context = await newContext(browser, requests, { colorScheme: "light" });
  try {
    await checks.run("strength: the result list shows each measured requirement's strength beside its status", async () => {
      // This repository commits reports/strength.json, so some requirement has a strength.
      assert(measured.length > 0, "no entry of the search index has a strength");
      const { page, problems } = await open(context, options.site, "index.html");
      await waitForResults(page, (n) => n === index.length, "with no query");
      const shown = await page.$$eval("#results li.result", (lis) =>
        lis.map((li) => [li.getAttribute("data-id"), (li.querySelector(".strength") || { textContent: "" }).textContent])
      );
      const byId = new Map(index.map((e) => [e.id, e.strength || ""]));
      const wrong = shown.filter(([id, text]) => byId.get(id) !== text);
      assert(wrong.length === 0, `results whose strength differs from the index: ${JSON.stringify(wrong.slice(0, 5))}`);
      assertClean("index.html", problems);
      return `${measured.length} of ${index.length} requirements measured`;
    });

    await checks.run("strength: a requirement's page shows its strength and each surviving mutant with file:line and its diff", async () => {
      assert(entry !== undefined, "no entry of the search index has a strength");
      const anchor = entry.id.toLowerCase();
      const file = entry.page.split("#")[0];
      const { page, problems } = await open(context, options.site, file);
      const figure = await page.$eval(`[id="${anchor}-strength"] b.strength`, (b) => b.textContent.trim()).catch(() => null);
      assert(figure === entry.strength, `${file}: [id="${anchor}-strength"] b.strength says ${JSON.stringify(figure)}, the index says ${JSON.stringify(entry.strength)}`);
      const badge = await page.$eval(`[id="${anchor}"] .strength`, (s) => s.textContent.trim()).catch(() => null);
      assert(badge === entry.strength, `${file}: the block [id="${anchor}"] shows strength ${JSON.stringify(badge)} beside its badge, expected ${JSON.stringify(entry.strength)}`);
      const survivors = await page.$$eval(`[id="${anchor}-strength"] li.survivor`, (lis) =>
        lis.map((li) => ({
          link: li.querySelector("a") ? li.querySelector("a").getAttribute("href") : null,
          text: li.querySelector("a") ? li.querySelector("a").textContent : "",
          mutation: li.querySelector("code") ? li.querySelector("code").textContent : "",
          added: li.querySelectorAll("pre.diff .diff-add").length,
          removed: li.querySelectorAll("pre.diff .diff-del").length,
          visible: li.getClientRects().length > 0,
        }))
      );
      const judged = fraction(entry.strength);
      if (judged) {
        assert(survivors.length === judged[1] - judged[0], `${file}: ${survivors.length} surviving mutants shown, ${entry.strength} means ${judged[1] - judged[0]}`);
      }
      const bad = survivors.filter((s) => !s.visible || !/#L\d+$/.test(s.link || "") || !/[^\s:]+:\d+$/.test(s.text) || !s.mutation.trim() || s.added < 1 || s.removed < 1);
      assert(bad.length === 0, `${file}: survivors without a visible file:line link to #L<line>, the mutation or a diff: ${JSON.stringify(bad)}`);
      const implementations = await page.$$eval(`[id="${anchor}-detail"] .implementations a`, (as) => as.map((a) => a.getAttribute("href")));
      assert(implementations.length > 0 && implementations.every((h) => /#L\d+$/.test(h)), `${file}: implementing items are not linked to their lines: ${JSON.stringify(implementations)}`);
      assertClean(file, problems);
      return `${entry.id} ${entry.strength}: ${survivors.length} survivors${survivors.length ? `, first ${survivors[0].text} ${survivors[0].mutation}` : ""}`;
    });
  } finally {
    await context.close();
  }
}

async function main() {
  let options;
  let index;
  try {
    options = parseArgs(process.argv.slice(2));
    assert(fs.existsSync(path.join(options.site, "index.html")), `no site at ${path.resolve(options.site)} (run \`spectrace site\` first)`);
    assert(fs.existsSync(options.chromium), `no browser at ${options.chromium} (install Debian's chromium: apt-get install -y chromium)`);
    index = readIndex(options.site);
  } catch (error) {
    console.error(`site browser test: ${error.message}`);
    return USAGE_ERROR;
  }
  let chromium;
  try {
    ({ chromium } = createRequire(path.resolve(options.modules, "..", "package.json"))("playwright-core"));
  } catch (error) {
    console.error(`site browser test: cannot load playwright-core from ${options.modules} (run npm ci there): ${error.message}`);
    return USAGE_ERROR;
  }
  fs.mkdirSync(options.screenshots, { recursive: true });

  const browser = await chromium.launch({
    executablePath: options.chromium,
    args: ["--no-sandbox", "--disable-gpu"],
    headless: true,
  });
  const checks = new Checks();
  const requests = [];
  try {
    console.log(`site: ${path.resolve(options.site)} (${index.length} requirements); browser: ${browser.version()}`);
    await selfTest(browser, checks);
    await dashboard(browser, options, index, requests, checks);
    await phone(browser, options, requests, checks);
    await colorScheme(browser, options, requests, checks);
    await pages(browser, options, index, requests, checks);
    await strength(browser, options, index, requests, checks);
    await checks.run("no request left file: (no network, no CDN)", async () => {
      const leaving = [...new Set(nonLocal(requests))];
      assert(leaving.length === 0, `${leaving.length} requests left file:\n${leaving.join("\n")}`);
      return `${requests.length} requests, all local`;
    });
  } finally {
    await browser.close();
  }
  console.log(`${checks.passed} passed, ${checks.failed} failed`);
  return checks.failed === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(`site browser test: ${error && error.stack ? error.stack : error}`);
    process.exit(1);
  }
);
