//! Serves the two-compartment demo app; see the package README.

use std::error::Error;

use bulkhead_example_axum::{app, serve, shutdown_signal, Compartments, DEFAULT_LISTEN};
use tokio::net::TcpListener;

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let listen = std::env::var("BULKHEAD_LISTEN").unwrap_or_else(|_| DEFAULT_LISTEN.to_owned());
    let compartments = Compartments::new()?;
    let listener = TcpListener::bind(&listen)
        .await
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let addr = listener.local_addr()?;
    println!("listening on http://{addr}");
    println!("  GET /fast          catalog compartment");
    println!("  GET /slow?ms=500   reports compartment, 4 slots, no waiting");
    println!("  GET /bulkheads     stats of both compartments");
    serve(listener, app(&compartments), shutdown_signal()).await?;
    println!("shut down");
    Ok(())
}
