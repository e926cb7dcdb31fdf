//! A real orchestratord on an ephemeral loopback port, on its own thread and tokio runtime.
//!
//! Each scenario gets a fresh server. Its runtime belongs to the server alone, so stopping the
//! server (dropping [`Server`]) also ends every task it spawned — dispatchers, health loops,
//! engines still generating — and nothing of one scenario keeps running into the next.

use orchestrator_config::Config;
use orchestratord::auth::Keys;

/// A running server; stopped when dropped.
#[derive(Debug)]
pub struct Server {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

impl Server {
    /// Builds the service from `config` (as `orchestratord` does: every engine is checked once
    /// before it serves) and serves it with the control-plane `keys`. `Err` is why it could not
    /// start.
    pub async fn start(config: Config, keys: Keys) -> Result<Self, String> {
        let (ready, started) = tokio::sync::oneshot::channel::<Result<String, String>>();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        std::thread::Builder::new()
            .name("orchestratord".to_owned())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(runtime) => runtime,
                    Err(e) => {
                        let _ = ready.send(Err(format!("cannot start a runtime: {e}")));
                        return;
                    }
                };
                runtime.block_on(serve(config, keys, ready, stopped));
                // Ends every task the server spawned, without waiting for any.
                runtime.shutdown_background();
            })
            .map_err(|e| format!("cannot start the server thread: {e}"))?;
        let base = started
            .await
            .map_err(|_| "the server thread ended before it started".to_owned())??;
        Ok(Self {
            base,
            stop: Some(stop),
        })
    }
}

async fn serve(
    config: Config,
    keys: Keys,
    ready: tokio::sync::oneshot::Sender<Result<String, String>>,
    stopped: tokio::sync::oneshot::Receiver<()>,
) {
    let logger = orchestratord::log::Logger::discard();
    let router = match orchestratord::app_with_logger(config, keys, logger).await {
        Ok((_service, router)) => router,
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    let listener = match tokio::net::TcpListener::bind("127.0.0.1:0").await {
        Ok(listener) => listener,
        Err(e) => {
            let _ = ready.send(Err(format!("cannot listen on 127.0.0.1:0: {e}")));
            return;
        }
    };
    let base = match listener.local_addr() {
        Ok(addr) => format!("http://{addr}"),
        Err(e) => {
            let _ = ready.send(Err(format!("no local address: {e}")));
            return;
        }
    };
    if ready.send(Ok(base)).is_err() {
        return;
    }
    // Not a graceful shutdown: open event streams would keep it waiting.
    tokio::select! {
        _ = orchestratord::serve(listener, router, std::future::pending()) => {}
        _ = stopped => {}
    }
}
