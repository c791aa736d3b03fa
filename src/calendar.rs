//! The model's calendar: days per month, the horizon limit, month labels.
//!
//! A leaf module: the distribution layer (a deal's cycle in whole months),
//! the scenario (horizon and `start` validation) and the outputs (month
//! columns) all read it, and it reads nothing of the crate.

/// Days per model month (365.25 / 12): a cycle of `d` days closes
/// `floor(d / DAYS_PER_MONTH)` months after the opportunity opens.
pub const DAYS_PER_MONTH: f64 = 30.4375;

/// Longest horizon a scenario may ask for, in months (50 years).
pub const MAX_HORIZON: usize = 600;

/// A calendar month `(year, month)`, `month` in 1..=12.
pub type YearMonth = (i32, u32);

/// Parse `YYYY-MM` (four-digit year, two-digit month).
pub fn parse_year_month(s: &str) -> Option<YearMonth> {
    let (y, m) = s.split_once('-')?;
    if y.len() != 4 || m.len() != 2 {
        return None;
    }
    let y: i32 = y.parse().ok()?;
    let m: u32 = m.parse().ok()?;
    (1..=12).contains(&m).then_some((y, m))
}

/// Label of model month `m` (0-based): `YYYY-MM` counted from `start`
/// when it is set, else `M1`, `M2`, …
pub fn month_label(start: Option<YearMonth>, m: usize) -> String {
    match start {
        Some((y, mo)) => {
            let idx = i64::from(y) * 12 + (i64::from(mo) - 1) + m as i64;
            format!("{:04}-{:02}", idx.div_euclid(12), idx.rem_euclid(12) + 1)
        }
        None => format!("M{}", m + 1),
    }
}

/// Label of quarter `q` (months `3q .. 3q+2`): `2027-Q1` when it is a
/// calendar quarter, `2027-02..04` (or `2027-11..2028-01` across a year)
/// when the start month is not a calendar quarter's first, `Q1`, `Q2`, …
/// without a start. A partial last quarter keeps its full label.
pub fn quarter_label(start: Option<YearMonth>, q: usize) -> String {
    match start {
        Some((y, mo)) => {
            let first = i64::from(y) * 12 + (i64::from(mo) - 1) + 3 * q as i64;
            let (fy, fm) = (first.div_euclid(12), first.rem_euclid(12) + 1);
            if fm % 3 == 1 {
                format!("{fy:04}-Q{}", (fm - 1) / 3 + 1)
            } else {
                let last = first + 2;
                let (ly, lm) = (last.div_euclid(12), last.rem_euclid(12) + 1);
                if ly == fy {
                    format!("{fy:04}-{fm:02}..{lm:02}")
                } else {
                    format!("{fy:04}-{fm:02}..{ly:04}-{lm:02}")
                }
            }
        }
        None => format!("Q{}", q + 1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn month_labels_roll_over_years() {
        assert_eq!(parse_year_month("2027-11"), Some((2027, 11)));
        assert_eq!(parse_year_month("2027-13"), None);
        assert_eq!(parse_year_month("27-01"), None);
        assert_eq!(month_label(Some((2027, 11)), 0), "2027-11");
        assert_eq!(month_label(Some((2027, 11)), 2), "2028-01");
        assert_eq!(month_label(None, 2), "M3");
    }

    #[test]
    fn quarter_labels_follow_the_start_month() {
        assert_eq!(quarter_label(Some((2027, 1)), 0), "2027-Q1");
        assert_eq!(quarter_label(Some((2027, 1)), 5), "2028-Q2");
        assert_eq!(quarter_label(Some((2027, 2)), 0), "2027-02..04");
        assert_eq!(quarter_label(Some((2027, 11)), 0), "2027-11..2028-01");
        assert_eq!(quarter_label(None, 2), "Q3");
    }
}
