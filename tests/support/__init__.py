"""Test support: the real Kafka and PostgreSQL the suite runs on, and helpers to drive services."""
