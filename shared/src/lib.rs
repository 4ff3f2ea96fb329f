//! callcoach's domain crate: types, ports, use cases, envelope encryption, telemetry, and (with
//! the `aws` feature) the AWS adapters. Every Lambda function depends on it.

pub mod access;
pub mod batch;
pub mod config;
pub mod crypto;
pub mod domain;
pub mod eval;
pub mod ids;
pub mod json_fault;
pub mod keys;
pub mod messages;
pub mod parse;
pub mod ports;
pub mod scoring;
pub mod system;
pub mod telemetry;
pub mod usecases;

#[cfg(feature = "aws")]
pub mod aws;

#[cfg(any(test, feature = "fakes"))]
pub mod fakes;

#[cfg(feature = "lambda")]
pub mod lambda;

#[cfg(feature = "providers")]
pub mod providers;
