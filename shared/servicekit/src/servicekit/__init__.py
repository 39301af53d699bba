"""The messaging kit every service uses the same way: outbox, inbox, bus, Kafka clients, HTTP plumbing."""
