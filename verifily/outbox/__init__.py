"""A small durable outbox: messages stored with their cause, sent later with retries."""
