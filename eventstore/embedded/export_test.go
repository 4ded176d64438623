package embedded

// UnsafeNoSyncOptions returns options that turn SQLite's fsync off. Only the
// power-loss suite's fsync-removal demonstration uses it, to show that the
// suite detects a store that acknowledges before its data is durable.
func UnsafeNoSyncOptions() Options { return Options{noSync: true} }
