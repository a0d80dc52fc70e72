// Package domain holds Credence's rules — issuers, achievements, credentials, API keys, jobs —
// and the ports (small interfaces) through which it reaches storage, keys, queues and mail.
// It imports the standards packages and nothing from the adapters.
package domain
