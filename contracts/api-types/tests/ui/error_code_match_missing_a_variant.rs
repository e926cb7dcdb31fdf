use api_types::ErrorCode;

/// Every code but `INTERNAL` is handled: the compiler must refuse this.
fn describe(code: ErrorCode) -> &'static str {
    match code {
        ErrorCode::InvalidRequest => "InvalidRequest",
        ErrorCode::Unauthenticated => "Unauthenticated",
        ErrorCode::Forbidden => "Forbidden",
        ErrorCode::NotFound => "NotFound",
        ErrorCode::MethodNotAllowed => "MethodNotAllowed",
        ErrorCode::StreamConflict => "StreamConflict",
        ErrorCode::ReloadFailed => "ReloadFailed",
        ErrorCode::PayloadTooLarge => "PayloadTooLarge",
        ErrorCode::UnsupportedMediaType => "UnsupportedMediaType",
        ErrorCode::UnknownPool => "UnknownPool",
        ErrorCode::UnknownModel => "UnknownModel",
        ErrorCode::MaxTokensTooLarge => "MaxTokensTooLarge",
        ErrorCode::ContextTooLong => "ContextTooLong",
        ErrorCode::DeadlineInfeasible => "DeadlineInfeasible",
        ErrorCode::SessionBudgetExhausted => "SessionBudgetExhausted",
        ErrorCode::QueueFull => "QueueFull",
        ErrorCode::PoolUnavailable => "PoolUnavailable",
        ErrorCode::PoolDraining => "PoolDraining",
        ErrorCode::ShuttingDown => "ShuttingDown",
        ErrorCode::QueueEvicted => "QueueEvicted",
        ErrorCode::ShedLowPriority => "ShedLowPriority",
        ErrorCode::DeadlineExceeded => "DeadlineExceeded",
        ErrorCode::DrainDeadline => "DrainDeadline",
        ErrorCode::TimeoutWall => "TimeoutWall",
        ErrorCode::TimeoutIdle => "TimeoutIdle",
        ErrorCode::Cancelled => "Cancelled",
        ErrorCode::EngineError => "EngineError",
    }
}

fn main() {
    println!("{}", describe(ErrorCode::QueueFull));
}
