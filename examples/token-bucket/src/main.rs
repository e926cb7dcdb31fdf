//! `token-bucket --capacity C --rate R`: one bucket, driven by commands on standard input.
//!
//! ```text
//! take N     →  ok LEFT | refused RETRY_MS | never
//! wait MS    →  waited NOW_MS
//! anything else → error REASON   (the session goes on)
//! ```

use std::io::{BufRead, Write};
use std::process::ExitCode;

use token_bucket::{Bucket, Take};

fn main() -> ExitCode {
    let bucket = match parse_args(std::env::args().skip(1)) {
        Ok(bucket) => bucket,
        Err(message) => {
            eprintln!("token-bucket: {message}");
            eprintln!("usage: token-bucket --capacity C --rate R");
            return ExitCode::from(2);
        }
    };
    match serve(bucket, std::io::stdin().lock(), std::io::stdout().lock()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("token-bucket: {e}");
            ExitCode::FAILURE
        }
    }
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Bucket, String> {
    let (mut capacity, mut rate) = (None, None);
    while let Some(flag) = args.next() {
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let number: u64 = value
            .parse()
            .map_err(|_| format!("{flag} takes a whole number, not `{value}`"))?;
        match flag.as_str() {
            "--capacity" => capacity = Some(number),
            "--rate" => rate = Some(number),
            other => return Err(format!("unknown option `{other}`")),
        }
    }
    let capacity = capacity.ok_or("--capacity is required")?;
    let rate = rate.ok_or("--rate is required")?;
    Bucket::new(capacity, rate).map_err(|e| e.to_string())
}

fn serve(mut bucket: Bucket, input: impl BufRead, mut output: impl Write) -> std::io::Result<()> {
    for line in input.lines() {
        let answer = answer(&mut bucket, &line?);
        writeln!(output, "{answer}")?;
        output.flush()?;
    }
    Ok(())
}

fn answer(bucket: &mut Bucket, line: &str) -> String {
    let words: Vec<&str> = line.split_whitespace().collect();
    let number = |word: &str| word.parse::<u64>().ok();
    match words.as_slice() {
        ["take", n] => match number(n) {
            Some(n) => match bucket.take(n) {
                Take::Taken { left } => format!("ok {left}"),
                Take::Refused { retry_after_ms } => format!("refused {retry_after_ms}"),
                Take::Never => "never".to_owned(),
            },
            None => format!("error `{n}` is not a whole number"),
        },
        ["wait", ms] => match number(ms) {
            Some(ms) => {
                bucket.advance(ms);
                format!("waited {}", bucket.now_ms())
            }
            None => format!("error `{ms}` is not a whole number"),
        },
        [] => "error empty command".to_owned(),
        [command, ..] => format!("error unknown command `{command}`: use `take N` or `wait MS`"),
    }
}
