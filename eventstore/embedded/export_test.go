package embedded

// UnsafeSyncOptions returns options that break durability on purpose, for the
// power-loss suite's demonstration that it detects a store which acknowledges
// before its data is durable: "off" removes the fsync (SQLite synchronous=OFF),
// "late" moves it after the acknowledgement (synchronous=NORMAL: in WAL mode
// the WAL is fsynced only at checkpoints, after the commits were answered).
func UnsafeSyncOptions(mode string) Options { return Options{syncMode: mode} }
