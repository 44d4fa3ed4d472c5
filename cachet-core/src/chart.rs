//! Metric aggregation for the four chart views. The store sums points per bucket
//! (`floor((t + offset) / bucket)`, see [`crate::Store::metric_sums`]); this module picks the
//! window, fills gaps with the default value and rolls hours into local days.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Duration, NaiveDate, Offset, TimeZone, Timelike, Utc};
use chrono_tz::Tz;

use crate::enums::{CalcType, MetricView};
use crate::model::{BucketSums, Metric};

/// What to ask the store for one view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// First instant (inclusive).
    pub from: DateTime<Utc>,
    /// Last instant (exclusive).
    pub to: DateTime<Utc>,
    /// Bucket width in seconds.
    pub bucket_secs: i64,
    /// Added to unix seconds before bucketing, so buckets align with local hours.
    pub offset_secs: i64,
}

fn floor_div(a: i64, b: i64) -> i64 {
    a.div_euclid(b)
}

/// The window and bucketing for `view` at `now`, displayed in `zone`.
pub fn window(view: MetricView, now: DateTime<Utc>, zone: Tz) -> Window {
    let offset = i64::from(
        zone.offset_from_utc_datetime(&now.naive_utc())
            .fix()
            .local_minus_utc(),
    );
    let t = now.timestamp();
    match view {
        MetricView::LastHour => {
            let minute = floor_div(t, 60);
            Window {
                from: ts((minute - 60) * 60),
                to: ts((minute + 1) * 60),
                bucket_secs: 60,
                offset_secs: 0,
            }
        }
        MetricView::Today => {
            let hour = floor_div(t + offset, 3600);
            Window {
                from: ts((hour - 11) * 3600 - offset),
                to: ts((hour + 1) * 3600 - offset),
                bucket_secs: 3600,
                offset_secs: offset,
            }
        }
        MetricView::Week | MetricView::Month => {
            let today = now.with_timezone(&zone).date_naive();
            let first = if view == MetricView::Week {
                today - Duration::days(7)
            } else {
                today.with_day(1).unwrap_or(today)
            };
            let start = local_midnight(first, zone);
            let end = local_midnight(today + Duration::days(1), zone);
            // Hourly sums, rolled into local days here (exact across DST changes).
            Window {
                from: start,
                to: end,
                bucket_secs: 3600,
                offset_secs: offset.rem_euclid(3600),
            }
        }
    }
}

fn ts(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).unwrap_or(DateTime::<Utc>::MIN_UTC)
}

fn local_midnight(day: NaiveDate, zone: Tz) -> DateTime<Utc> {
    // Midnight can fall in a DST gap in a few zones: take the first valid minute after it.
    (0..=180)
        .find_map(|m| {
            zone.from_local_datetime(
                &day.and_hms_opt(0, 0, 0)?
                    .checked_add_signed(Duration::minutes(m))?,
            )
            .earliest()
        })
        .map_or_else(|| ts(0), |t| t.with_timezone(&Utc))
}

fn value_of(metric: &Metric, sums: Option<&Sums>) -> f64 {
    let v = match (metric.calc_type, sums) {
        (_, None) => 0.0,
        (CalcType::Sum, Some(s)) => s.product,
        (CalcType::Average, Some(s)) if s.points > 0 => s.value / s.points as f64,
        (CalcType::Average, Some(_)) => 0.0,
    };
    // A null or zero result shows the default value, as Cachet does.
    let v = if v == 0.0 || !v.is_finite() {
        metric.default_value
    } else {
        v
    };
    round_to(v, metric.places)
}

/// Rounds for display to `places` decimals (0-4).
pub fn round_to(v: f64, places: u8) -> f64 {
    let f = 10f64.powi(i32::from(places.min(4)));
    (v * f).round() / f
}

#[derive(Default, Clone, Copy)]
struct Sums {
    product: f64,
    value: f64,
    points: i64,
}

/// The chart items (`key -> value`, keys ascending) for `view` from the store's bucket sums.
pub fn items(
    metric: &Metric,
    view: MetricView,
    now: DateTime<Utc>,
    zone: Tz,
    sums: &[BucketSums],
) -> BTreeMap<String, f64> {
    let w = window(view, now, zone);
    let start_of = |bucket: i64| ts(bucket * w.bucket_secs - w.offset_secs);
    let mut grouped: BTreeMap<String, Sums> = BTreeMap::new();
    let key_of = |t: DateTime<Utc>| {
        let local = t.with_timezone(&zone);
        match view {
            MetricView::LastHour => local.format("%Y-%m-%d %H:%M").to_string(),
            MetricView::Today => local.format("%Y-%m-%d %H:00").to_string(),
            MetricView::Week | MetricView::Month => local.format("%Y-%m-%d").to_string(),
        }
    };
    for s in sums {
        let e = grouped.entry(key_of(start_of(s.bucket))).or_default();
        e.product += s.sum_product;
        e.value += s.sum_value;
        e.points += s.points;
    }
    let mut out = BTreeMap::new();
    match view {
        MetricView::LastHour => {
            let last = floor_div(now.timestamp(), 60);
            for minute in (last - 60)..=last {
                let key = key_of(ts(minute * 60));
                let recent = last - minute < i64::from(metric.threshold);
                match grouped.get(&key) {
                    Some(s) => {
                        out.insert(key, value_of(metric, Some(s)));
                    }
                    // The newest minutes may still be arriving: leave them out rather than
                    // show the default value.
                    None if recent => {}
                    None => {
                        out.insert(key, value_of(metric, None));
                    }
                }
            }
        }
        MetricView::Today => {
            let last = floor_div(now.timestamp() + w.offset_secs, 3600);
            for hour in (last - 11)..=last {
                let key = key_of(start_of(hour));
                let v = value_of(metric, grouped.get(&key));
                out.insert(key, v);
            }
        }
        MetricView::Week | MetricView::Month => {
            let today = now.with_timezone(&zone).date_naive();
            let mut day = w.from.with_timezone(&zone).date_naive();
            while day <= today {
                let key = day.format("%Y-%m-%d").to_string();
                let v = value_of(metric, grouped.get(&key));
                out.insert(key, v);
                day += Duration::days(1);
            }
        }
    }
    out
}

/// Rounds an input timestamp to the nearest 30 seconds (half up), as Cachet stores points.
pub fn round_point_time(t: DateTime<Utc>) -> DateTime<Utc> {
    let s = t.timestamp();
    ts(floor_div(s + 15, 30) * 30)
}

/// Start of the dedup window for a new point at `now`: equal values recorded since then bump
/// the counter of the existing point instead of adding one.
pub fn dedup_since(threshold_minutes: u8, now: DateTime<Utc>) -> DateTime<Utc> {
    let back = now - Duration::minutes(i64::from(threshold_minutes.max(1)) - 1);
    back.with_second(0)
        .and_then(|t| t.with_nanosecond(0))
        .unwrap_or(back)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::enums::MetricVisibility;
    use crate::ids::MetricId;

    fn metric(calc: CalcType, default_value: f64) -> Metric {
        Metric {
            id: MetricId(1),
            name: "m".into(),
            suffix: "ms".into(),
            description: String::new(),
            default_value,
            calc_type: calc,
            display_chart: true,
            places: 2,
            default_view: MetricView::Today,
            threshold: 5,
            order: 0,
            visible: MetricVisibility::Public,
            created_at: ts(0),
            updated_at: ts(0),
        }
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 5, 15, 10, 30, 20).unwrap()
    }

    #[test]
    fn week_has_eight_days_and_fills_gaps() {
        let m = metric(CalcType::Sum, 7.0);
        let w = window(MetricView::Week, now(), Tz::UTC);
        assert_eq!(w.from, Utc.with_ymd_and_hms(2024, 5, 8, 0, 0, 0).unwrap());
        // Two hours of 2024-05-14 summed into one day.
        let h = Utc
            .with_ymd_and_hms(2024, 5, 14, 3, 0, 0)
            .unwrap()
            .timestamp()
            / 3600;
        let sums = [
            BucketSums {
                bucket: h,
                sum_product: 10.0,
                sum_value: 5.0,
                points: 1,
            },
            BucketSums {
                bucket: h + 1,
                sum_product: 2.5,
                sum_value: 2.5,
                points: 1,
            },
        ];
        let items = items(&m, MetricView::Week, now(), Tz::UTC, &sums);
        assert_eq!(items.len(), 8);
        assert_eq!(items["2024-05-14"], 12.5);
        assert_eq!(items["2024-05-08"], 7.0);
        assert_eq!(items["2024-05-15"], 7.0);
    }

    #[test]
    fn average_and_rounding() {
        let m = metric(CalcType::Average, 0.0);
        let h = now().timestamp() / 3600;
        let sums = [BucketSums {
            bucket: h,
            sum_product: 0.0,
            sum_value: 10.0,
            points: 3,
        }];
        let items = items(&m, MetricView::Today, now(), Tz::UTC, &sums);
        assert_eq!(items.len(), 12);
        assert_eq!(items["2024-05-15 10:00"], 3.33);
        assert_eq!(items["2024-05-14 23:00"], 0.0);
    }

    #[test]
    fn days_follow_the_display_zone() {
        // 23:30 UTC on the 14th is the 15th in Kolkata (+05:30).
        let kolkata: Tz = "Asia/Kolkata".parse().unwrap();
        let w = window(MetricView::Week, now(), kolkata);
        let t = Utc
            .with_ymd_and_hms(2024, 5, 14, 23, 30, 0)
            .unwrap()
            .timestamp();
        let bucket = (t + w.offset_secs).div_euclid(w.bucket_secs);
        let m = metric(CalcType::Sum, 0.0);
        let items = items(
            &m,
            MetricView::Week,
            now(),
            kolkata,
            &[BucketSums {
                bucket,
                sum_product: 4.0,
                sum_value: 4.0,
                points: 1,
            }],
        );
        assert_eq!(items["2024-05-15"], 4.0);
        assert_eq!(items["2024-05-14"], 0.0);
    }

    #[test]
    fn last_hour_leaves_out_the_newest_empty_minutes() {
        let m = metric(CalcType::Sum, 1.0);
        let items = items(&m, MetricView::LastHour, now(), Tz::UTC, &[]);
        assert_eq!(items.len(), 61 - 5);
        assert!(items.contains_key("2024-05-15 09:30"));
        assert!(!items.contains_key("2024-05-15 10:30"));
    }

    #[test]
    fn point_times_round_to_30_seconds() {
        assert_eq!(round_point_time(ts(1_000_014)).timestamp(), 1_000_020);
        assert_eq!(round_point_time(ts(44)).timestamp(), 30);
        assert_eq!(round_point_time(ts(45)).timestamp(), 60);
        assert_eq!(
            dedup_since(5, now()),
            Utc.with_ymd_and_hms(2024, 5, 15, 10, 26, 0).unwrap()
        );
        assert_eq!(
            dedup_since(1, now()),
            Utc.with_ymd_and_hms(2024, 5, 15, 10, 30, 0).unwrap()
        );
    }
}
