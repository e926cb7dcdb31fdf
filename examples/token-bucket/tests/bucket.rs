//! The bucket's requirements, tested through its library API.

use token_bucket::{Bucket, Invalid, Take};

#[spectrace::covers("TB-0001")]
#[test]
fn a_new_bucket_is_full() {
    let mut bucket = Bucket::new(5, 1).unwrap();
    assert_eq!(bucket.tokens(), 5);
    assert_eq!(bucket.take(5), Take::Taken { left: 0 });
}

#[spectrace::covers("TB-0002")]
#[test]
fn take_removes_tokens_or_refuses_removing_none() {
    let mut bucket = Bucket::new(3, 1).unwrap();
    assert_eq!(bucket.take(2), Take::Taken { left: 1 });
    assert!(matches!(bucket.take(2), Take::Refused { .. }));
    assert_eq!(bucket.tokens(), 1, "a refused take removes nothing");
    assert_eq!(bucket.take(1), Take::Taken { left: 0 });
}

#[spectrace::covers("TB-0003")]
#[test]
fn the_bucket_never_holds_more_than_its_capacity() {
    let mut bucket = Bucket::new(4, 10).unwrap();
    bucket.advance(60_000);
    assert_eq!(bucket.tokens(), 4);
    assert_eq!(bucket.take(2), Take::Taken { left: 2 });
    bucket.advance(u64::MAX);
    assert_eq!(bucket.tokens(), 4);
}

#[spectrace::covers("TB-0004")]
#[test]
fn refill_counts_whole_tokens_and_carries_the_fraction() {
    let mut bucket = Bucket::new(10, 2).unwrap();
    assert_eq!(bucket.take(10), Take::Taken { left: 0 });
    // 2 tokens per second: 300 ms gives 0.6 of a token, twice gives 1.2.
    bucket.advance(300);
    assert_eq!(bucket.tokens(), 0);
    bucket.advance(300);
    assert_eq!(bucket.tokens(), 1);
    bucket.advance(400);
    assert_eq!(bucket.tokens(), 2);
}

#[spectrace::covers("TB-0005")]
#[test]
fn more_than_the_capacity_can_never_be_taken() {
    let mut bucket = Bucket::new(3, 100).unwrap();
    assert_eq!(bucket.take(4), Take::Never);
    bucket.advance(1_000_000);
    assert_eq!(bucket.take(4), Take::Never);
    assert_eq!(bucket.tokens(), 3, "an impossible request removes nothing");
}

#[test]
fn a_bucket_needs_capacity_and_rate() {
    assert_eq!(Bucket::new(0, 1), Err(Invalid::ZeroCapacity));
    assert_eq!(Bucket::new(1, 0), Err(Invalid::ZeroRate));
}
