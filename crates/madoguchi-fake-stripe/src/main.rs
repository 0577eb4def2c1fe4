//! `madoguchi-fake-stripe`: serves the fake Stripe on a port, for demos and manual runs.
//!
//! ```text
//! madoguchi-fake-stripe [--port 12111] [--key sk_test_…] [--webhook-url http://… --webhook-secret whsec_…]
//! ```
//! Point Madoguchi's Stripe `api_base` at the printed URL; the Checkout page it redirects to is
//! the fake's own `/pay/{session}` with buttons for each outcome.

use std::net::SocketAddr;

use madoguchi_fake_stripe::{DEFAULT_API_KEY, FakeStripe};

fn flag(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let port = match flag(&args, "--port") {
        Some(raw) => raw
            .parse::<u16>()
            .map_err(|_| std::io::Error::other(format!("--port: not a port: {raw}")))?,
        None => 12111,
    };
    let key = flag(&args, "--key").unwrap_or_else(|| DEFAULT_API_KEY.to_owned());
    let fake = FakeStripe::start_on(SocketAddr::from(([127, 0, 0, 1], port)), &key).await?;
    if let (Some(url), Some(secret)) = (
        flag(&args, "--webhook-url"),
        flag(&args, "--webhook-secret"),
    ) {
        fake.configure_webhook(&url, &secret);
        println!("webhooks go to {url}");
    }
    println!("fake Stripe listening on {}", fake.base_url);
    tokio::signal::ctrl_c().await?;
    Ok(())
}
