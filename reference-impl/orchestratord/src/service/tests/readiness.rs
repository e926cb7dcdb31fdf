//! Replica and pool readiness under engines the test controls: an engine whose health check
//! and self-test answer as the test says, checked once or by the health loop on a paused clock.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;
use futures::stream::{self, BoxStream, StreamExt};
use orchestrator_config::{Config, EngineConfig, PoolConfig};

use super::{config, ready_service_with};
use crate::engine::{self, Engine, EngineEvent, Generate, ModelArtifact};
use crate::service::EngineStarter;

/// What the test's engines answer: their health check, and whether generating fails (which
/// fails the self-test).
struct Switches {
    healthy: AtomicBool,
    generate_fails: AtomicBool,
    /// The health check never answers.
    health_hangs: AtomicBool,
}

impl Default for Switches {
    fn default() -> Self {
        Self {
            healthy: AtomicBool::new(true),
            generate_fails: AtomicBool::new(false),
            health_hangs: AtomicBool::new(false),
        }
    }
}

/// A sim engine whose health and generation follow the shared [`Switches`].
struct Switched {
    inner: Arc<dyn Engine>,
    switches: Arc<Switches>,
}

impl Engine for Switched {
    fn kind(&self) -> api_types::EngineKind {
        self.inner.kind()
    }
    fn version(&self) -> String {
        self.inner.version()
    }
    fn model_digest(&self) -> String {
        self.inner.model_digest()
    }
    fn count_tokens(&self, prompt: &str) -> u64 {
        self.inner.count_tokens(prompt)
    }
    fn generate(&self, request: Generate) -> BoxStream<'static, EngineEvent> {
        if self.switches.generate_fails.load(Ordering::SeqCst) {
            stream::iter([EngineEvent::Failed("the test fails it".to_owned())]).boxed()
        } else {
            self.inner.generate(request)
        }
    }
    fn health(&self) -> BoxFuture<'static, bool> {
        if self.switches.health_hangs.load(Ordering::SeqCst) {
            return futures::future::pending().boxed();
        }
        let healthy = self.switches.healthy.load(Ordering::SeqCst);
        async move { healthy }.boxed()
    }
}

/// Starts [`Switched`] sim engines sharing one set of switches.
#[derive(Default)]
struct SwitchedStarter(Arc<Switches>);

impl EngineStarter for Arc<SwitchedStarter> {
    fn start(
        &self,
        pool: &PoolConfig,
        artifact: &ModelArtifact,
    ) -> BoxFuture<'static, Result<Arc<dyn Engine>, String>> {
        let (pool, artifact, switches) = (pool.clone(), artifact.clone(), Arc::clone(&self.0));
        async move {
            let inner = engine::start(&pool, &artifact).await?;
            let engine: Arc<dyn Engine> = Arc::new(Switched { inner, switches });
            Ok(engine)
        }
        .boxed()
    }
}

/// Starts [`Switched`] sim engines with one set of switches per pool.
#[derive(Default)]
struct PerPoolStarter(std::sync::Mutex<std::collections::BTreeMap<String, Arc<Switches>>>);

impl PerPoolStarter {
    fn switches(&self, pool: &str) -> Arc<Switches> {
        Arc::clone(self.0.lock().unwrap().entry(pool.to_owned()).or_default())
    }
}

impl EngineStarter for Arc<PerPoolStarter> {
    fn start(
        &self,
        pool: &PoolConfig,
        artifact: &ModelArtifact,
    ) -> BoxFuture<'static, Result<Arc<dyn Engine>, String>> {
        let switches = self.switches(&pool.id);
        let (pool, artifact) = (pool.clone(), artifact.clone());
        async move {
            let inner = engine::start(&pool, &artifact).await?;
            let engine: Arc<dyn Engine> = Arc::new(Switched { inner, switches });
            Ok(engine)
        }
        .boxed()
    }
}

/// Sets the sim's `health_interval_ms` of every pool.
fn with_health_interval(mut config: Config, interval: Duration) -> Config {
    for pool in &mut config.pools {
        let EngineConfig::Sim {
            health_interval_ms, ..
        } = &mut pool.engine
        else {
            panic!("the test config runs the sim engine")
        };
        *health_interval_ms = interval.as_millis() as u64;
    }
    config
}

fn replica_ready(service: &crate::service::Service) -> bool {
    service.pools()["default"].scheduler().replicas()[0].0
}

/// A replica whose engine answers its health check but fails its self-test is not ready, and
/// neither is its pool; once the self-test passes, both are.
#[spectrace::covers("ORCH-3015")]
#[tokio::test(start_paused = true)]
async fn a_healthy_replica_that_fails_its_self_test_is_not_ready() {
    let starter = Arc::new(SwitchedStarter::default());
    starter.0.generate_fails.store(true, Ordering::SeqCst);
    let service = ready_service_with(config(), Arc::new(Arc::clone(&starter))).await;
    assert!(
        !replica_ready(&service),
        "healthy, but its self-test failed"
    );
    assert_eq!(service.pools_not_ready(), vec!["default".to_owned()]);

    starter.0.generate_fails.store(false, Ordering::SeqCst);
    service.check_health().await;
    assert!(replica_ready(&service), "healthy and its self-test passed");
    assert!(service.pools_not_ready().is_empty());
}

/// Before it first turns ready, a replica generates its self-test token; a failure keeps it
/// unready and is logged with the replica and the reason, and the first check after the engine
/// generates again turns it ready.
#[spectrace::covers("ORCH-3064")]
#[tokio::test(start_paused = true)]
async fn a_failed_self_test_is_logged_with_its_reason_and_a_passed_one_turns_ready() {
    let starter = Arc::new(SwitchedStarter::default());
    starter.0.generate_fails.store(true, Ordering::SeqCst);
    let (logger, captured) = crate::log::Logger::captured();
    let service = crate::service::Service::with_starter(
        config(),
        crate::auth::Keys::default(),
        logger,
        Arc::new(Arc::clone(&starter)),
    )
    .await
    .unwrap();
    service.check_health().await;
    assert!(!replica_ready(&service));
    let failures: Vec<serde_json::Value> = captured
        .text()
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap())
        .filter(|line| line["msg"] == "self-test failed")
        .collect();
    assert_eq!(failures.len(), 1, "{}", captured.text());
    assert_eq!(failures[0]["replica_id"], "default-0");
    assert!(
        !failures[0]["reason"]
            .as_str()
            .unwrap_or_default()
            .is_empty(),
        "{}",
        failures[0]
    );

    starter.0.generate_fails.store(false, Ordering::SeqCst);
    service.check_health().await;
    assert!(replica_ready(&service), "its self-test passed");
}

/// Once the service runs, a replica whose engine stops answering its health check turns
/// unready within one `engine.health_interval_ms`, and ready again within one interval after it
/// recovers; each change shows in the pools not ready (`/readyz`), the pool's health and the
/// replica sets.
#[spectrace::covers("ORCH-3015", "ORCH-3016")]
#[tokio::test(start_paused = true)]
async fn readiness_follows_the_health_check_within_one_interval() {
    let interval = Duration::from_millis(1000);
    let config = with_health_interval(config(), interval);
    let starter = Arc::new(SwitchedStarter::default());
    let service = ready_service_with(config, Arc::new(Arc::clone(&starter))).await;
    service.start();
    let shown = |service: &crate::service::Service| {
        let not_ready = service.pools_not_ready();
        let health = service.pool_health("default").unwrap();
        let sets = service.replica_sets();
        (
            not_ready,
            health.ready,
            sets.replica_sets[0]
                .replicas
                .iter()
                .map(|r| r.ready)
                .collect::<Vec<_>>(),
        )
    };
    assert_eq!(shown(&service), (vec![], true, vec![true]));

    starter.0.healthy.store(false, Ordering::SeqCst);
    tokio::time::sleep(interval + Duration::from_millis(1)).await;
    assert_eq!(
        shown(&service),
        (vec!["default".to_owned()], false, vec![false]),
        "unready within one interval"
    );

    starter.0.healthy.store(true, Ordering::SeqCst);
    tokio::time::sleep(interval + Duration::from_millis(1)).await;
    assert_eq!(
        shown(&service),
        (vec![], true, vec![true]),
        "ready again within one interval"
    );
}

/// A pool whose engine's health check never answers holds up only its own health checks:
/// another pool's readiness still follows its engine within one interval, turning unready and
/// ready again.
#[spectrace::covers("ORCH-3046")]
#[tokio::test(start_paused = true)]
async fn a_health_check_that_never_answers_holds_up_no_other_pool() {
    let interval = Duration::from_millis(1000);
    let mut config = config();
    let mut hung = config.pools[0].clone();
    hung.id = "hung".to_owned();
    config.pools.push(hung);
    let config = with_health_interval(config, interval);
    let starter = Arc::new(PerPoolStarter::default());
    let service = ready_service_with(config, Arc::new(Arc::clone(&starter))).await;
    starter
        .switches("hung")
        .health_hangs
        .store(true, Ordering::SeqCst);
    service.start();
    assert!(
        tokio::time::timeout(interval * 60, service.check_health())
            .await
            .is_err(),
        "the hung pool's health check never answers"
    );

    let default = starter.switches("default");
    default.healthy.store(false, Ordering::SeqCst);
    tokio::time::sleep(interval + Duration::from_millis(1)).await;
    assert!(!replica_ready(&service), "unready within one interval");
    assert!(!service.pool_health("default").unwrap().ready);

    default.healthy.store(true, Ordering::SeqCst);
    tokio::time::sleep(interval + Duration::from_millis(1)).await;
    assert!(replica_ready(&service), "ready again within one interval");
    assert!(service.pool_health("default").unwrap().ready);
}
