//! Kubernetes `resource.Quantity`: parse every suffix form, format canonically, compare, add, grow by a
//! percentage, and round up to a step (whole Mi, whole Gi). Pure and exact (integer nano-units, never floating point).
//!
//! The grammar is apimachinery's (`pkg/api/resource/quantity.go`):
//! `<sign><digits>[.<digits>]<suffix>` where the suffix is a binary SI one (`Ki Mi Gi Ti Pi Ei`), a decimal SI one
//! (`n u m "" k M G T P E`) or a decimal exponent (`e<n>` / `E<n>`). Precision finer than nano-units is rounded
//! up, as Kubernetes does ("1.0000000001" becomes "1000000001n").

use std::cmp::Ordering;
use std::fmt;

/// Nano-units per unit: values are held as an exact integer count of 10^-9.
const NANO: i128 = 1_000_000_000;
/// One mebibyte and one gibibyte, in bytes: the steps sizes are rounded to (`Quantity::round_up_to`).
pub const MI: i128 = 1 << 20;
pub const GI: i128 = 1 << 30;
/// The largest byte count a volume size can be: Kubernetes reads quantities as int64 (`Quantity.Value()`,
/// apimachinery `pkg/api/resource/quantity.go`) and CSI's `CapacityRange.required_bytes` is an int64, so anything
/// larger cannot be asked of any storage driver.
pub const MAX_BYTES: i128 = i64::MAX as i128;

/// The suffix family a quantity was written in; formatting keeps it, as Kubernetes' canonical form does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `Ki`, `Mi`, `Gi`, `Ti`, `Pi`, `Ei` (powers of 1024).
    BinarySi,
    /// `n`, `u`, `m`, none, `k`, `M`, `G`, `T`, `P`, `E` (powers of 1000).
    DecimalSi,
    /// `1e9`, `5E3`.
    DecimalExponent,
}

/// A parsed quantity: an exact value in nano-units plus the format it was written in.
#[derive(Debug, Clone, Copy)]
pub struct Quantity {
    nanos: i128,
    format: Format,
}

/// Why a quantity could not be parsed or computed; each reads as a sentence the user can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuantityError {
    #[error(
        "`{text}` is not a Kubernetes quantity: {reason} (examples: 1300Gi, 1.5Ti, 500G, 2e12)"
    )]
    Invalid { text: String, reason: String },
    #[error("`{text}` is too large to be a Kubernetes quantity")]
    TooLarge { text: String },
    #[error("`{text}` is not a percentage: {reason} (example: 25%)")]
    InvalidPercent { text: String, reason: String },
    #[error("the result of growing {base} is too large to be a Kubernetes quantity")]
    Overflow { base: String },
    #[error(
        "`{text}` is larger than any volume can be: Kubernetes and CSI hold sizes as 64-bit byte counts, at most 9223372036854775807 bytes (8Ei - 1)"
    )]
    SizeTooLarge { text: String },
}

impl From<QuantityError> for crate::Error {
    fn from(err: QuantityError) -> Self {
        crate::Error::usage(
            err.to_string(),
            Some("sizes use Kubernetes quantity syntax, e.g. --size 1300Gi, --add 100Gi, --increase 25%".into()),
        )
    }
}

impl PartialEq for Quantity {
    fn eq(&self, other: &Self) -> bool {
        self.nanos == other.nanos
    }
}
impl Eq for Quantity {}
impl PartialOrd for Quantity {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Quantity {
    /// Quantities compare by value only: `1Gi == 1073741824 == 1073741824000m`.
    fn cmp(&self, other: &Self) -> Ordering {
        self.nanos.cmp(&other.nanos)
    }
}

/// Ceiling division for a positive divisor (values here may be negative).
fn div_ceil(n: i128, d: i128) -> i128 {
    let q = n / d;
    if n % d != 0 && n > 0 { q + 1 } else { q }
}

impl Quantity {
    /// A quantity of whole bytes (units), formatted with a binary suffix.
    pub fn from_bytes(bytes: i128) -> Option<Self> {
        bytes.checked_mul(NANO).map(|nanos| Quantity {
            nanos,
            format: Format::BinarySi,
        })
    }

    /// Whole Gi, formatted `NGi`.
    pub fn from_gi(gi: i128) -> Option<Self> {
        gi.checked_mul(GI).and_then(Self::from_bytes)
    }

    /// Parse a quantity string exactly as the apiserver accepts it.
    pub fn parse(text: &str) -> Result<Self, QuantityError> {
        let invalid = |reason: &str| QuantityError::Invalid {
            text: text.to_string(),
            reason: reason.to_string(),
        };
        let too_large = || QuantityError::TooLarge {
            text: text.to_string(),
        };
        if text.is_empty() {
            return Err(invalid("it is empty"));
        }
        if text.trim() != text {
            return Err(invalid("it has surrounding spaces"));
        }
        let bytes = text.as_bytes();
        let mut pos = 0;
        let negative = match bytes[0] {
            b'-' => {
                pos = 1;
                true
            }
            b'+' => {
                pos = 1;
                false
            }
            _ => false,
        };
        let int_start = pos;
        while pos < bytes.len() && bytes[pos].is_ascii_digit() {
            pos += 1;
        }
        let int_digits = &text[int_start..pos];
        let mut frac_digits = "";
        if pos < bytes.len() && bytes[pos] == b'.' {
            pos += 1;
            let frac_start = pos;
            while pos < bytes.len() && bytes[pos].is_ascii_digit() {
                pos += 1;
            }
            frac_digits = &text[frac_start..pos];
        }
        if int_digits.is_empty() && frac_digits.is_empty() {
            return Err(invalid("it does not start with a number"));
        }
        let suffix = &text[pos..];

        // mantissa = int_digits.frac_digits as an integer, scaled down by 10^frac_len.
        let digits = format!("{int_digits}{frac_digits}");
        let digits = digits.trim_start_matches('0');
        // Anything beyond 39 significant digits cannot fit i128 (at most 1.7e38) anyway; 39 digits may, and the
        // canonical form of a large fractional value is 39 digits of `n`, which must parse back.
        if digits.len() > 39 {
            return Err(too_large());
        }
        let mantissa: i128 = if digits.is_empty() {
            0
        } else {
            digits.parse().map_err(|_| too_large())?
        };
        let frac_len = frac_digits.len() as i32;

        let (format, multiplier, exp10): (Format, i128, i32) = match suffix {
            "Ki" => (Format::BinarySi, 1 << 10, 0),
            "Mi" => (Format::BinarySi, 1 << 20, 0),
            "Gi" => (Format::BinarySi, 1 << 30, 0),
            "Ti" => (Format::BinarySi, 1 << 40, 0),
            "Pi" => (Format::BinarySi, 1 << 50, 0),
            "Ei" => (Format::BinarySi, 1 << 60, 0),
            "n" => (Format::DecimalSi, 1, -9),
            "u" => (Format::DecimalSi, 1, -6),
            "m" => (Format::DecimalSi, 1, -3),
            "" => (Format::DecimalSi, 1, 0),
            "k" => (Format::DecimalSi, 1, 3),
            "M" => (Format::DecimalSi, 1, 6),
            "G" => (Format::DecimalSi, 1, 9),
            "T" => (Format::DecimalSi, 1, 12),
            "P" => (Format::DecimalSi, 1, 15),
            "E" => (Format::DecimalSi, 1, 18),
            s if s.starts_with(['e', 'E']) => {
                let exp = &s[1..];
                let digits_part = exp.strip_prefix(['+', '-']).unwrap_or(exp);
                if digits_part.is_empty() || !digits_part.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(invalid(&format!("`{s}` is not a decimal exponent")));
                }
                let exp: i32 = exp.parse().map_err(|_| too_large())?;
                (Format::DecimalExponent, 1, exp)
            }
            s => {
                let hint = match s {
                    "K" | "KB" | "kb" => " (kilo is `k`, kibi is `Ki`)",
                    "GB" | "gb" | "g" => " (use `G` or `Gi`)",
                    "GiB" | "gi" | "GI" => " (use `Gi`)",
                    "TB" | "tb" | "t" => " (use `T` or `Ti`)",
                    "TiB" | "ti" | "TI" => " (use `Ti`)",
                    "MB" | "mb" | "MiB" | "mi" => " (use `M` or `Mi`)",
                    _ => "",
                };
                return Err(invalid(&format!("unknown suffix `{s}`{hint}")));
            }
        };

        // nanos = mantissa * multiplier * 10^(exp10 + 9 - frac_len), rounded up when the power is negative.
        let power = exp10 + 9 - frac_len;
        let scaled = mantissa.checked_mul(multiplier).ok_or_else(too_large)?;
        let nanos = if power >= 0 {
            let factor = 10i128.checked_pow(power as u32).ok_or_else(too_large)?;
            if scaled == 0 {
                0
            } else {
                scaled.checked_mul(factor).ok_or_else(too_large)?
            }
        } else {
            match 10i128.checked_pow((-power) as u32) {
                Some(divisor) => div_ceil(scaled, divisor),
                // Smaller than any representable unit: a positive value rounds up to 1n.
                None => i128::from(scaled > 0),
            }
        };
        Ok(Quantity {
            nanos: if negative { -nanos } else { nanos },
            format,
        })
    }

    /// Parse a volume size (`--size`, `--add`): a quantity no larger than [`MAX_BYTES`]. The value is kept exact;
    /// [`Self::whole_bytes`] rounds it for the request (so a plan can say when it did).
    pub fn parse_size(text: &str) -> Result<Self, QuantityError> {
        let q = Self::parse(text).map_err(|e| match e {
            QuantityError::TooLarge { text } => QuantityError::SizeTooLarge { text },
            other => other,
        })?;
        if q.bytes() > MAX_BYTES {
            return Err(QuantityError::SizeTooLarge {
                text: text.to_string(),
            });
        }
        Ok(q)
    }

    /// Whether this is a size a volume can have (at most [`MAX_BYTES`]).
    pub fn fits_a_volume(&self) -> bool {
        self.bytes() <= MAX_BYTES
    }

    /// The same quantity rounded **up** to a whole byte, in binary-SI form: a volume holds whole bytes, and
    /// Kubernetes' canonical form of a fractional byte count is a milli- or nano-value (`1073741824500m`) that no one
    /// should be shown as a disk size. Whole decimal-SI values keep their form (`500G`).
    pub fn whole_bytes(&self) -> Quantity {
        let bytes = self.bytes();
        Quantity {
            nanos: bytes * NANO,
            format: match self.format {
                Format::DecimalSi | Format::DecimalExponent if self.is_whole() => self.format,
                _ => Format::BinarySi,
            },
        }
    }

    /// For messages: the canonical form when this is a whole number of bytes, else the exact decimal byte count
    /// (`0.5`, `1073741824.000000002`) — a valid quantity that reads as bytes, never `500m`.
    pub fn size_text(&self) -> String {
        if self.is_whole() {
            return self.to_string();
        }
        let sign = if self.nanos < 0 { "-" } else { "" };
        let abs = self.nanos.abs();
        let frac = format!("{:09}", abs % NANO);
        format!("{sign}{}.{}", abs / NANO, frac.trim_end_matches('0'))
    }

    /// Whether this is a whole number of bytes (no rounding needed).
    pub fn is_whole_bytes(&self) -> bool {
        self.is_whole()
    }

    /// The value in whole units (bytes for storage), rounded up as Kubernetes' `Value()` does.
    pub fn bytes(&self) -> i128 {
        div_ceil(self.nanos, NANO)
    }

    /// The format this quantity was written in.
    pub fn format(&self) -> Format {
        self.format
    }

    /// The same value rendered in another suffix family.
    pub fn with_format(self, format: Format) -> Self {
        Quantity { format, ..self }
    }

    /// `self + other`, keeping `self`'s format.
    pub fn checked_add(&self, other: &Quantity) -> Option<Quantity> {
        self.nanos.checked_add(other.nanos).map(|nanos| Quantity {
            nanos,
            format: self.format,
        })
    }

    /// Grow by `percent` (e.g. 25 or 12.5), exactly (rounded up to a whole byte): the size `--increase` asks for
    /// before it is rounded to a step that fits the volume (`resize::plan`, [`Self::round_up_to`]). The result is
    /// always strictly larger than `self` when `percent` is positive.
    pub fn increase_by_percent(&self, percent: &Percent) -> Result<Quantity, QuantityError> {
        let overflow = || QuantityError::Overflow {
            base: self.to_string(),
        };
        // grown = nanos * (100 * 10^scale + p) / (100 * 10^scale), with p = percent scaled by 10^scale.
        let denominator = 100i128 * 10i128.pow(percent.scale);
        let grown = self
            .nanos
            .checked_mul(denominator + percent.scaled)
            .ok_or_else(overflow)?;
        let grown_nanos = div_ceil(grown, denominator);
        let nanos = div_ceil(grown_nanos, NANO)
            .checked_mul(NANO)
            .ok_or_else(overflow)?;
        Ok(Quantity {
            nanos,
            format: Format::BinarySi,
        })
    }

    /// The same size rounded **up** to a whole number of `step` bytes (e.g. [`MI`], [`GI`]), in binary-SI form;
    /// `None` on overflow.
    pub fn round_up_to(&self, step: i128) -> Option<Quantity> {
        let steps = div_ceil(self.bytes(), step.max(1));
        let nanos = steps.checked_mul(step.max(1))?.checked_mul(NANO)?;
        Some(Quantity {
            nanos,
            format: Format::BinarySi,
        })
    }

    /// Whether the value is a whole number of units (bytes).
    fn is_whole(&self) -> bool {
        self.nanos % NANO == 0
    }
}

impl fmt::Display for Quantity {
    /// Kubernetes' canonical form: the largest suffix of the quantity's family that keeps an integer mantissa.
    /// A binary quantity that is not a whole number of bytes falls back to decimal SI, as apimachinery does.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.nanos;
        if n == 0 {
            return f.write_str("0");
        }
        match self.format {
            Format::BinarySi if self.is_whole() => {
                let units = n / NANO;
                for (suffix, shift) in [
                    ("Ei", 60),
                    ("Pi", 50),
                    ("Ti", 40),
                    ("Gi", 30),
                    ("Mi", 20),
                    ("Ki", 10),
                ] {
                    let m = 1i128 << shift;
                    if units % m == 0 {
                        return write!(f, "{}{suffix}", units / m);
                    }
                }
                write!(f, "{units}")
            }
            Format::DecimalExponent => {
                // Exponent a multiple of 3 with an integer mantissa, e.g. 1500000 -> 1500e3.
                let mut exp: i32 = -9;
                let mut mantissa = n;
                while mantissa % 1000 == 0 {
                    mantissa /= 1000;
                    exp += 3;
                }
                if exp == 0 {
                    write!(f, "{mantissa}")
                } else {
                    write!(f, "{mantissa}e{exp}")
                }
            }
            Format::BinarySi | Format::DecimalSi => {
                const SUFFIXES: [&str; 10] = ["n", "u", "m", "", "k", "M", "G", "T", "P", "E"];
                let mut index = 0;
                let mut mantissa = n;
                while mantissa % 1000 == 0 && index < SUFFIXES.len() - 1 {
                    mantissa /= 1000;
                    index += 1;
                }
                write!(f, "{mantissa}{}", SUFFIXES[index])
            }
        }
    }
}

impl serde::Serialize for Quantity {
    /// As its canonical string, the way the API shows quantities.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl std::str::FromStr for Quantity {
    type Err = QuantityError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Quantity::parse(s)
    }
}

impl From<Quantity> for k8s_openapi::apimachinery::pkg::api::resource::Quantity {
    fn from(q: Quantity) -> Self {
        k8s_openapi::apimachinery::pkg::api::resource::Quantity(q.to_string())
    }
}

impl TryFrom<&k8s_openapi::apimachinery::pkg::api::resource::Quantity> for Quantity {
    type Error = QuantityError;
    fn try_from(
        q: &k8s_openapi::apimachinery::pkg::api::resource::Quantity,
    ) -> Result<Self, Self::Error> {
        Quantity::parse(&q.0)
    }
}

/// A positive percentage with up to 6 decimal places, e.g. `25%`, `12.5%` (the `%` is optional).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Percent {
    /// The percentage times 10^scale.
    scaled: i128,
    scale: u32,
}

impl Percent {
    /// Parse `--increase`: a positive number, optionally followed by `%`.
    pub fn parse(text: &str) -> Result<Self, QuantityError> {
        let invalid = |reason: &str| QuantityError::InvalidPercent {
            text: text.to_string(),
            reason: reason.to_string(),
        };
        let body = text.trim().strip_suffix('%').unwrap_or(text.trim()).trim();
        if body.is_empty() {
            return Err(invalid("there is no number"));
        }
        if body.starts_with('-') {
            return Err(invalid("it is negative; resize only grows volumes"));
        }
        let (int, frac) = body.split_once('.').unwrap_or((body, ""));
        if (int.is_empty() && frac.is_empty())
            || !int.bytes().all(|b| b.is_ascii_digit())
            || !frac.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(invalid("it is not a number"));
        }
        if frac.len() > 6 {
            return Err(invalid("use at most 6 decimal places"));
        }
        if int.len() > 12 {
            return Err(invalid("it is unreasonably large"));
        }
        let scaled: i128 = format!("{int}{frac}")
            .parse()
            .map_err(|_| invalid("it is not a number"))?;
        if scaled == 0 {
            return Err(invalid("it must be greater than 0"));
        }
        Ok(Percent {
            scaled,
            scale: frac.len() as u32,
        })
    }
}

impl fmt::Display for Percent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let div = 10i128.pow(self.scale);
        let (int, frac) = (self.scaled / div, self.scaled % div);
        if frac == 0 {
            write!(f, "{int}%")
        } else {
            let frac = format!("{frac:0width$}", width = self.scale as usize);
            write!(f, "{int}.{}%", frac.trim_end_matches('0'))
        }
    }
}

/// Bytes in binary units with one decimal, as `df -h` prints them: `1.2Gi`.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["Ki", "Mi", "Gi", "Ti", "Pi", "Ei"];
    if bytes < 1024 {
        return format!("{bytes}B");
    }
    let mut value = bytes as f64;
    let mut unit = "";
    for u in UNITS {
        if value < 1024.0 {
            break;
        }
        value /= 1024.0;
        unit = u;
    }
    format!("{value:.1}{unit}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn q(text: &str) -> Quantity {
        Quantity::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    #[test]
    fn every_suffix_parses_to_its_value() {
        let cases: [(&str, i128); 22] = [
            ("1Ki", 1024),
            ("1Mi", 1 << 20),
            ("1Gi", 1 << 30),
            ("1Ti", 1 << 40),
            ("1Pi", 1 << 50),
            ("1Ei", 1 << 60),
            ("1k", 1_000),
            ("1M", 1_000_000),
            ("1G", 1_000_000_000),
            ("1T", 1_000_000_000_000),
            ("1P", 1_000_000_000_000_000),
            ("1E", 1_000_000_000_000_000_000),
            ("1500m", 2),
            ("1000000u", 1),
            ("1000000000n", 1),
            ("12", 12),
            ("1e3", 1_000),
            ("2E6", 2_000_000),
            ("1.5Gi", 1_610_612_736),
            ("0.5Ki", 512),
            ("+8Gi", 8 << 30),
            ("1124Gi", 1124 << 30),
        ];
        for (text, bytes) in cases {
            assert_eq!(q(text).bytes(), bytes, "{text}");
        }
    }

    #[test]
    fn sub_unit_values_are_exact_and_round_up_past_nano() {
        assert_eq!(q("100m").nanos, 100_000_000);
        assert_eq!(q("1n").nanos, 1);
        // Kubernetes rounds precision beyond nano up.
        assert_eq!(q("1.0000000001").nanos, 1_000_000_001);
        assert_eq!(q("1e-12").nanos, 1);
        assert_eq!(q("-1.5").nanos, -1_500_000_000);
        assert_eq!(q("0.1Ki").to_string(), "102400m");
    }

    #[test]
    fn comparison_is_by_value_across_formats() {
        assert_eq!(q("1Gi"), q("1073741824"));
        assert_eq!(q("1G"), q("1e9"));
        assert!(q("1Gi") > q("1G"));
        assert!(q("1300Gi") > q("1124Gi"));
        assert!(q("1Ti") > q("1000Gi"));
        assert!(q("999Mi") < q("1Gi"));
    }

    #[test]
    fn formats_canonically_like_kubernetes() {
        assert_eq!(q("1300Gi").to_string(), "1300Gi");
        assert_eq!(q("1024Gi").to_string(), "1Ti");
        assert_eq!(q("1536Mi").to_string(), "1536Mi");
        assert_eq!(q("1.5Gi").to_string(), "1536Mi");
        assert_eq!(q("1000M").to_string(), "1G");
        assert_eq!(q("1500M").to_string(), "1500M");
        assert_eq!(q("0.5").to_string(), "500m");
        assert_eq!(q("1e3").to_string(), "1e3");
        assert_eq!(q("1500000").to_string(), "1500k");
        assert_eq!(q("0").to_string(), "0");
        assert_eq!(q("1000").to_string(), "1k");
        assert_eq!(q("100").to_string(), "100");
    }

    #[test]
    fn invalid_input_is_a_clear_error() {
        let err = Quantity::parse("10GB").unwrap_err().to_string();
        assert!(err.contains("unknown suffix `GB`"), "{err}");
        assert!(err.contains("use `G` or `Gi`"), "{err}");
        let err = Quantity::parse("10 Gi").unwrap_err().to_string();
        assert!(err.contains("unknown suffix ` Gi`"), "{err}");
        assert!(
            Quantity::parse("Gi")
                .unwrap_err()
                .to_string()
                .contains("does not start with a number")
        );
        assert!(
            Quantity::parse("")
                .unwrap_err()
                .to_string()
                .contains("empty")
        );
        assert!(Quantity::parse(" 1Gi").is_err());
        assert!(Quantity::parse("1.2.3Gi").is_err());
        assert!(Quantity::parse("1e").is_err());
        assert!(Quantity::parse("1ex").is_err());
        assert!(matches!(
            Quantity::parse("1e40"),
            Err(QuantityError::TooLarge { .. })
        ));
        assert!(matches!(
            Quantity::parse("99999999999999999999999999999999999999999Ei"),
            Err(QuantityError::TooLarge { .. })
        ));
        let usage: crate::Error = Quantity::parse("lots").unwrap_err().into();
        assert_eq!(usage.exit_code(), crate::ExitCode::Usage);
        assert!(usage.hint().unwrap().contains("1300Gi"));
    }

    #[test]
    fn increase_is_exact_to_the_byte_and_rounding_is_a_separate_step() {
        let p = |t: &str| Percent::parse(t).unwrap();
        let grow = |base: &str, by: &str| q(base).increase_by_percent(&p(by)).unwrap();
        // 1124Gi * 1.25 = 1405Gi exactly.
        assert_eq!(grow("1124Gi", "25%").to_string(), "1405Gi");
        // 64Mi * 1.5 = 96Mi: no longer rounded to a whole Gi (issue 18 item 7).
        assert_eq!(grow("64Mi", "50%").to_string(), "96Mi");
        // 10Gi * 1.15 = 11.5Gi, in whole bytes; the step is chosen by the caller.
        assert_eq!(grow("10Gi", "15%").to_string(), "11776Mi");
        assert_eq!(
            grow("10Gi", "15%").round_up_to(GI).unwrap().to_string(),
            "12Gi"
        );
        // 64Mi * 1.1 = 70.4Mi -> 71Mi in whole Mi.
        assert_eq!(
            grow("64Mi", "10%").round_up_to(MI).unwrap().to_string(),
            "71Mi"
        );
        // Never stays at the same size, even by a tiny percentage.
        assert!(grow("1Gi", "0.001%") > q("1Gi"));
        // Decimal capacities: 100G * 1.1 = 110G = 102.45Gi -> 103Gi.
        assert_eq!(
            grow("100G", "10%").round_up_to(GI).unwrap().to_string(),
            "103Gi"
        );
        // A size already on the step stays.
        assert_eq!(q("2Gi").round_up_to(GI).unwrap().to_string(), "2Gi");
    }

    #[test]
    fn percent_parsing_rejects_what_would_not_grow() {
        assert!(
            Percent::parse("0%")
                .unwrap_err()
                .to_string()
                .contains("greater than 0")
        );
        assert!(
            Percent::parse("-5%")
                .unwrap_err()
                .to_string()
                .contains("negative")
        );
        assert!(Percent::parse("%").is_err());
        assert!(
            Percent::parse("ten%")
                .unwrap_err()
                .to_string()
                .contains("not a number")
        );
        assert!(Percent::parse("1.1234567%").is_err());
        assert_eq!(Percent::parse("25").unwrap().to_string(), "25%");
        assert_eq!(Percent::parse("12.50%").unwrap().to_string(), "12.5%");
    }

    #[test]
    fn add_keeps_the_base_format() {
        let sum = q("1124Gi").checked_add(&q("176Gi")).unwrap();
        assert_eq!(sum.to_string(), "1300Gi");
        assert_eq!(
            q("100G").checked_add(&q("1Gi")).unwrap().to_string(),
            "101073741824"
        );
    }

    #[test]
    fn sizes_are_whole_bytes_in_canonical_form() {
        // `--add 0.5` on 1Gi and `--size 1.000000000001Gi` (issue 15): never milli- or nano-bytes.
        let sum = q("1Gi").checked_add(&q("0.5")).unwrap();
        assert_eq!(sum.to_string(), "1073741824500m");
        assert_eq!(sum.whole_bytes().to_string(), "1073741825");
        assert!(!sum.is_whole_bytes());
        let nano = q("1.000000000001Gi");
        assert!(nano.to_string().ends_with('n'), "{nano}");
        assert_eq!(nano.whole_bytes().to_string(), "1073741825");
        assert_eq!(q("1.5Gi").whole_bytes().to_string(), "1536Mi");
        assert_eq!(q("500G").whole_bytes().to_string(), "500G");
        assert_eq!(q("0.5").whole_bytes().to_string(), "1");
        assert_eq!(
            q("100G")
                .checked_add(&q("1Gi"))
                .unwrap()
                .whole_bytes()
                .to_string(),
            "101073741824"
        );
        assert!(q("1Gi").is_whole_bytes());
        assert_eq!(q("0.5").size_text(), "0.5");
        assert_eq!(nano.size_text(), "1073741824.001073742");
        assert_eq!(q("1536Mi").size_text(), "1536Mi");
    }

    #[test]
    fn a_large_fractional_value_round_trips_through_its_39_digit_canonical_form() {
        // Found by tests/properties.rs: 1e29 + 1e-7 is `100000000000000000000000000000000000100n` (39 digits).
        let big = q("100000000000000000000000000000000000.1u");
        assert_eq!(big.to_string().len(), 40);
        assert_eq!(Quantity::parse(&big.to_string()).unwrap(), big);
        assert!(Quantity::parse(&"9".repeat(40)).is_err());
    }

    #[test]
    fn sizes_larger_than_a_volume_can_be_are_refused() {
        for text in [
            "8Ei",
            "9223372036854775808",
            "100000000Ei",
            "1e19",
            "99999999999999999999999999999999999999999Ei",
        ] {
            let err = Quantity::parse_size(text).unwrap_err();
            assert!(
                matches!(err, QuantityError::SizeTooLarge { .. }),
                "{text}: {err}"
            );
            let usage: crate::Error = err.into();
            assert_eq!(usage.exit_code(), crate::ExitCode::Usage);
        }
        assert_eq!(
            Quantity::parse_size("9223372036854775807").unwrap().bytes(),
            MAX_BYTES
        );
        assert!(Quantity::parse_size("7Ei").unwrap().fits_a_volume());
        assert!(!q("8Ei").fits_a_volume());
    }

    #[test]
    fn converts_to_and_from_k8s_openapi() {
        let k: k8s_openapi::apimachinery::pkg::api::resource::Quantity = q("2048Mi").into();
        assert_eq!(k.0, "2Gi");
        assert_eq!(Quantity::try_from(&k).unwrap(), q("2Gi"));
    }

    fn suffix() -> impl Strategy<Value = &'static str> {
        prop::sample::select(vec![
            "", "n", "u", "m", "k", "M", "G", "T", "P", "Ki", "Mi", "Gi", "Ti", "Pi", "e3", "e6",
            "E2",
        ])
    }

    proptest! {
        #[test]
        fn format_then_parse_is_identity(mantissa in 0i64..1_000_000_000, frac in 0u32..1000, s in suffix()) {
            let text = format!("{mantissa}.{frac:03}{s}");
            let parsed = q(&text);
            let reparsed = q(&parsed.to_string());
            prop_assert_eq!(parsed, reparsed);
        }

        #[test]
        fn order_follows_bytes(a in 0i64..1_000_000, b in 0i64..1_000_000, sa in suffix(), sb in suffix()) {
            let (qa, qb) = (q(&format!("{a}{sa}")), q(&format!("{b}{sb}")));
            prop_assert_eq!(qa.cmp(&qb), qa.nanos.cmp(&qb.nanos));
            if qa.bytes() < qb.bytes() { prop_assert!(qa < qb); }
        }

        #[test]
        fn increase_is_strictly_larger_exact_and_its_rounding_minimal(gi in 1i128..100_000, extra_mi in 0i128..1024, pct in 1u32..500) {
            let base = Quantity::from_bytes(gi * GI + extra_mi * MI).unwrap();
            let grown = base.increase_by_percent(&Percent::parse(&format!("{pct}%")).unwrap()).unwrap();
            prop_assert!(grown > base);
            // The exact target is base * (100+pct)/100, rounded up to a whole byte.
            let exact_times_100 = base.bytes() * (100 + i128::from(pct));
            prop_assert!(grown.bytes() * 100 >= exact_times_100);
            prop_assert!((grown.bytes() - 1) * 100 < exact_times_100);
            // Rounded to a step, it is the smallest multiple of the step at or above it.
            for step in [MI, GI] {
                let rounded = grown.round_up_to(step).unwrap();
                prop_assert_eq!(rounded.bytes() % step, 0);
                prop_assert!(rounded >= grown && rounded.bytes() - step < grown.bytes());
            }
        }

        #[test]
        fn add_is_exact(a in 0i128..1 << 50, b in 1i128..1 << 50) {
            let sum = Quantity::from_bytes(a).unwrap().checked_add(&Quantity::from_bytes(b).unwrap()).unwrap();
            prop_assert_eq!(sum.bytes(), a + b);
        }

        #[test]
        fn garbage_never_panics(text in "\\PC{0,12}") {
            let _ = Quantity::parse(&text);
            let _ = Percent::parse(&text);
        }
    }
}
