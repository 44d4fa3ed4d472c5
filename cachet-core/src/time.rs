//! Instants on input and output. Every instant is a `DateTime<Utc>`; local times without an
//! offset are read in the configured or requested zone, and output is converted once, at
//! the edge.

use chrono::{DateTime, LocalResult, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;

/// The output format of Cachet's API (`Y-m-d H:i:s`).
pub const WIRE_FORMAT: &str = "%Y-%m-%d %H:%M:%S";

/// Reads a local `Y-m-d H:i` (or `Y-m-d H:i:s`) time in `zone`.
///
/// A time that falls in a DST gap does not exist and is an error; one that falls in a DST
/// overlap is read as the earlier instant. Instants before 1970 or after 9999-12-30 UTC are
/// refused, so every accepted time prints in the wire format in every zone.
///
/// # Errors
/// A message that names the expected format.
pub fn parse_local(input: &str, zone: Tz) -> Result<DateTime<Utc>, String> {
    let s = input.trim();
    let naive = NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M")
        .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S"))
        .map_err(|_| {
            format!(
                "Unable to pass timestamp \"{}\": expected the format Y-m-d H:i",
                truncate(s)
            )
        })?;
    let t = match zone.from_local_datetime(&naive) {
        LocalResult::Single(t) => t.with_timezone(&Utc),
        LocalResult::Ambiguous(early, _) => early.with_timezone(&Utc),
        LocalResult::None => {
            return Err(format!(
                "The time \"{}\" does not exist in the time zone {zone}",
                truncate(s)
            ))
        }
    };
    in_range(t).map_err(|()| {
        format!(
            "The time \"{}\" is out of range (1970-01-01 00:00:00 to 9999-12-30 00:00:00 UTC)",
            truncate(s)
        )
    })
}

/// Earliest instant accepted on input: the unix epoch.
pub const MIN_INSTANT_SECS: i64 = 0;

/// Latest instant accepted on input, 9999-12-30 00:00:00 UTC: late enough for anything real,
/// early enough that it prints with a four-digit year in every time zone (`Y-m-d H:i:s`
/// has no room for a fifth digit or a sign).
pub const MAX_INSTANT_SECS: i64 = 253_402_128_000;

fn in_range(t: DateTime<Utc>) -> Result<DateTime<Utc>, ()> {
    if (MIN_INSTANT_SECS..=MAX_INSTANT_SECS).contains(&t.timestamp()) {
        Ok(t)
    } else {
        Err(())
    }
}

/// Reads a unix timestamp in seconds.
///
/// # Errors
/// Outside [`MIN_INSTANT_SECS`]..=[`MAX_INSTANT_SECS`].
pub fn from_unix(secs: i64) -> Result<DateTime<Utc>, String> {
    DateTime::from_timestamp(secs, 0)
        .ok_or(())
        .and_then(in_range)
        .map_err(|()| {
            format!(
                "The timestamp {secs} is out of range ({MIN_INSTANT_SECS} to {MAX_INSTANT_SECS})"
            )
        })
}

/// Formats an instant as `Y-m-d H:i:s` in `zone`.
pub fn format_in(t: DateTime<Utc>, zone: Tz) -> String {
    t.with_timezone(&zone).format(WIRE_FORMAT).to_string()
}

/// Parses an IANA zone name.
pub fn parse_zone(name: &str) -> Option<Tz> {
    name.trim().parse::<Tz>().ok()
}

/// The calendar day `t` falls on in `zone`.
pub fn local_day(t: DateTime<Utc>, zone: Tz) -> NaiveDate {
    t.with_timezone(&zone).date_naive()
}

/// Groups `items` by the day their instant (`at`) falls on in `zone`, keeping their order.
/// Items sorted by instant (either way) give one group per day, in that order; unsorted
/// input gives a new group at every change of day.
pub fn group_by_local_day<T>(
    items: impl IntoIterator<Item = T>,
    zone: Tz,
    at: impl Fn(&T) -> DateTime<Utc>,
) -> Vec<(NaiveDate, Vec<T>)> {
    let mut days: Vec<(NaiveDate, Vec<T>)> = Vec::new();
    for item in items {
        let day = local_day(at(&item), zone);
        match days.last_mut() {
            Some((d, list)) if *d == day => list.push(item),
            _ => days.push((day, vec![item])),
        }
    }
    days
}

fn truncate(s: &str) -> String {
    s.chars().take(40).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn days_are_those_of_the_display_zone() {
        let sydney: Tz = "Australia/Sydney".parse().unwrap();
        let la: Tz = "America/Los_Angeles".parse().unwrap();
        // 2024-05-01 13:30 UTC is 23:30 in Sydney (UTC+10) and 06:30 in Los Angeles.
        let a = parse_local("2024-05-01 13:30", Tz::UTC).unwrap();
        // 14:30 UTC: already 2 May in Sydney, still 1 May in Los Angeles.
        let b = parse_local("2024-05-01 14:30", Tz::UTC).unwrap();
        let c = parse_local("2024-05-03 09:00", Tz::UTC).unwrap();
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let newest_first = [c, b, a];
        assert_eq!(
            group_by_local_day(newest_first, sydney, |t| *t),
            [
                (d("2024-05-03"), vec![c]),
                (d("2024-05-02"), vec![b]),
                (d("2024-05-01"), vec![a]),
            ]
        );
        assert_eq!(
            group_by_local_day(newest_first, la, |t| *t),
            [(d("2024-05-03"), vec![c]), (d("2024-05-01"), vec![b, a])]
        );
        assert!(group_by_local_day(Vec::<DateTime<Utc>>::new(), la, |t| *t).is_empty());
    }

    proptest! {
        /// Sorted input: every item is in the group of its own local day, no day appears
        /// twice, and nothing is lost or reordered.
        #[test]
        fn grouping_sorted_instants_partitions_them(
            mut secs in prop::collection::vec(0i64..4_000_000_000, 0..40),
            zone in prop::sample::select(vec!["UTC", "Australia/Sydney", "America/St_Johns", "Pacific/Kiritimati"]),
        ) {
            let zone: Tz = zone.parse().unwrap();
            secs.sort_unstable_by(|a, b| b.cmp(a));
            let groups = group_by_local_day(secs.clone(), zone, |s| DateTime::from_timestamp(*s, 0).unwrap());
            let flat: Vec<i64> = groups.iter().flat_map(|(_, g)| g.iter().copied()).collect();
            prop_assert_eq!(flat, secs);
            for pair in groups.windows(2) {
                prop_assert!(pair[0].0 > pair[1].0);
            }
            for (day, list) in &groups {
                for s in list {
                    prop_assert_eq!(local_day(DateTime::from_timestamp(*s, 0).unwrap(), zone), *day);
                }
            }
        }
    }

    #[test]
    fn local_input_is_read_in_the_zone() {
        let mx: Tz = "America/Mexico_City".parse().unwrap();
        let t = parse_local("2024-05-01 13:45", mx).unwrap();
        assert_eq!(t.to_rfc3339(), "2024-05-01T19:45:00+00:00");
        assert_eq!(format_in(t, mx), "2024-05-01 13:45:00");
        assert_eq!(format_in(t, Tz::UTC), "2024-05-01 19:45:00");
        assert_eq!(
            parse_local("2024-05-01 13:45:30", Tz::UTC)
                .unwrap()
                .to_rfc3339(),
            "2024-05-01T13:45:30+00:00"
        );
    }

    #[test]
    fn bad_and_nonexistent_times_are_errors() {
        assert!(parse_local("2024-05-01T13:45:00Z", Tz::UTC)
            .unwrap_err()
            .contains("Y-m-d H:i"));
        assert!(parse_local("yesterday", Tz::UTC).is_err());
        assert!(parse_local("2024-13-01 10:00", Tz::UTC).is_err());
        // Spring-forward gap in Berlin.
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        assert!(parse_local("2024-03-31 02:30", berlin)
            .unwrap_err()
            .contains("does not exist"));
        // Fall-back overlap: the earlier instant.
        assert_eq!(
            parse_local("2024-10-27 02:30", berlin)
                .unwrap()
                .to_rfc3339(),
            "2024-10-27T00:30:00+00:00"
        );
        assert!(from_unix(i64::MAX).is_err());
        assert!(parse_zone("Not/AZone").is_none());
    }

    #[test]
    fn instants_print_with_four_digit_years_in_every_zone() {
        let kiritimati: Tz = "Pacific/Kiritimati".parse().unwrap();
        let minus12: Tz = "Etc/GMT+12".parse().unwrap();
        for bad in ["-0001-01-01 00:00", "0000-01-01 00:00", "1969-12-31 23:59"] {
            assert!(
                parse_local(bad, Tz::UTC)
                    .unwrap_err()
                    .contains("out of range"),
                "{bad}"
            );
        }
        assert!(parse_local("9999-12-31 23:59", minus12).is_err());
        let last = from_unix(MAX_INSTANT_SECS).unwrap();
        assert_eq!(format_in(last, kiritimati), "9999-12-30 14:00:00");
        assert_eq!(format_in(last, minus12), "9999-12-29 12:00:00");
        assert!(from_unix(MAX_INSTANT_SECS + 1).is_err());
        assert!(from_unix(-1).is_err());
        let first = from_unix(0).unwrap();
        assert_eq!(format_in(first, minus12), "1969-12-31 12:00:00");
        assert_eq!(
            parse_local("9999-12-29 23:59", Tz::UTC)
                .unwrap()
                .timestamp(),
            MAX_INSTANT_SECS - 60
        );
    }

    proptest! {
        #[test]
        fn format_then_parse_round_trips(secs in 0i64..4_102_444_800, zi in 0usize..4) {
            let zone: Tz = ["UTC", "Asia/Kolkata", "America/New_York", "Pacific/Chatham"][zi].parse().unwrap();
            let t = from_unix(secs).unwrap();
            let back = parse_local(&format_in(t, zone), zone).unwrap();
            // Equal unless the local time is ambiguous (then the earlier instant is chosen).
            prop_assert!(back <= t && (t - back).num_seconds() <= 3600);
        }

        #[test]
        fn parse_never_panics(s in "\\PC{0,40}") {
            let _ = parse_local(&s, Tz::UTC);
        }
    }
}
