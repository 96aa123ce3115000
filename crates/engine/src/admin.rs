//! Operator actions behind the CLI and the portal: accounts, buyers, settings, mappings and listings.
