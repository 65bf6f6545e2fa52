//! Loads `bulkhead.toml` (a built-in `semaphore` compartment and two compartments of the
//! `rate-limit` kind this example defines), makes a few calls, and prints the stats of
//! every compartment. `BULKHEAD_*` environment variables are layered on top of the file.

use std::path::Path;

use bulkhead::registry::Registry;
use bulkhead::SemaphoreBulkhead;
use bulkhead_example_custom_kind::{RateLimit, RateLimitPlugin};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("bulkhead.toml");
    let registry = Registry::builder()
        .file(&file)
        .plugin(RateLimitPlugin)
        .build()?;

    println!("kinds: {}", registry.kinds().join(", "));
    println!("compartments from {}:", file.display());
    for name in registry.names() {
        let settings: Vec<String> = registry
            .settings(&name)?
            .into_iter()
            .map(|(key, value)| format!("{key} = {value}"))
            .collect();
        println!("  {name}: {}", settings.join(", "));
    }

    println!();
    let geocoder = registry.get::<RateLimit>("geocoder")?;
    for i in 1..=7 {
        match geocoder.call(async { format!("lookup {i}") }).await {
            Ok(answer) => println!("{answer}: ok"),
            Err(rejected) => println!(
                "lookup {i}: {rejected} (retry after {:?})",
                rejected.retry_after().unwrap_or_default()
            ),
        }
    }
    let database = registry.get::<SemaphoreBulkhead>("database")?;
    database.execute(async { "select 1" }).await?;

    println!();
    for compartment in &registry.compartments() {
        let stats = compartment.stats();
        println!(
            "{:<9} {:<10} capacity {:>3}  admitted {:>2}  rejected {:>2}",
            compartment.name(),
            compartment.kind(),
            stats.capacity,
            stats.admitted,
            stats.rejected.total()
        );
    }
    Ok(())
}
