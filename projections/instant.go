package projections

import "time"

// instant is a time.Time without its *Location, for read models that hold
// many of them and no pointer (see Expiry, Notifications): the garbage
// collector need not scan them. The read models' times are UTC (the log's
// recorded-at, and the expiries the domain records), which time gives back.
type instant struct {
	sec  int64
	nsec int32
	set  bool // false: the zero time.Time
}

func instantOf(t time.Time) instant {
	if t.IsZero() {
		return instant{}
	}
	return instant{sec: t.Unix(), nsec: int32(t.Nanosecond()), set: true}
}

// time returns the instant in UTC, or the zero time.Time.
func (i instant) time() time.Time {
	if !i.set {
		return time.Time{}
	}
	return time.Unix(i.sec, int64(i.nsec)).UTC()
}
