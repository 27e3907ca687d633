//! resource.Quantity → number, enough to compare and size storage (`10Gi`, `500M`, `1.5Gi`, `100m`, `1e9`).
pub fn parse(q: &str) -> Option<f64> {
    let q = q.trim();
    let split = q
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+' || c == '-'))
        .unwrap_or(q.len());
    let (num, suffix) = q.split_at(split);
    let n: f64 = num.parse().ok()?;
    let mult = match suffix {
        "" => 1.0,
        "Ki" => 1024f64,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        "n" => 1e-9,
        "u" => 1e-6,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        s if s.starts_with(['e', 'E']) => 10f64.powi(s[1..].parse().ok()?),
        _ => return None,
    };
    Some(n * mult)
}

/// Bytes, rounded up (volumes are allocated in whole bytes).
pub fn bytes(q: &str) -> Option<u64> {
    parse(q).filter(|v| *v >= 0.0).map(|v| v.ceil() as u64)
}

#[cfg(test)]
mod tests {
    #[test]
    fn parses_binary_and_decimal_suffixes() {
        assert_eq!(super::bytes("10Gi"), Some(10 * 1024 * 1024 * 1024));
        assert_eq!(super::bytes("1G"), Some(1_000_000_000));
        assert_eq!(super::bytes("1.5Mi"), Some(1_572_864));
        assert_eq!(super::bytes("1e3"), Some(1000));
        assert_eq!(super::parse("100m"), Some(0.1));
        assert_eq!(super::parse("ten"), None);
    }
}
