//! Disk checks: a full volume in the logs (every variant of `no space left on device`, and the SIGBUS crash),
//! usage thresholds from kubelet stats, days until full at the ingestion rate, a class that cannot expand, and no
//! size-based retention (prometheus-facts.md §2.1, §6.1, §6.2, §7 KubePersistentVolumeFillingUp).

use super::quote_hit;
use crate::discover::{Flavour, flag_value};
use crate::doctor::catalog::Finding;
use crate::doctor::snapshot::{InstanceSnapshot, VolumeUsage};
use crate::logscan::Kind;
use crate::quantity::human_bytes;

/// Prometheus's storage docs: "1-2 bytes per sample"; we plan with the pessimistic end.
const BYTES_PER_SAMPLE: f64 = 2.0;

/// The data volume's usage rows.
fn data_usage(s: &InstanceSnapshot) -> Vec<&VolumeUsage> {
    let Some(data) = &s.instance.data else {
        return Vec::new();
    };
    let claims = data.claims();
    s.usage
        .iter()
        .filter(|u| u.volume == data.volume || u.pvc.as_ref().is_some_and(|p| claims.contains(p)))
        .collect()
}

/// StorageClasses of the data PVCs that do not allow expansion.
fn classes_not_expandable(s: &InstanceSnapshot) -> Vec<String> {
    s.storage_classes
        .iter()
        .filter(|sc| sc.allow_volume_expansion != Some(true))
        .filter_map(|sc| sc.metadata.name.clone())
        .collect()
}

fn resize_fix(s: &InstanceSnapshot) -> String {
    let allow = if classes_not_expandable(s).is_empty() {
        ""
    } else {
        " --allow-expansion"
    };
    s.prom_command(&format!("resize --increase 50%{allow}"))
}

fn percent(u: &VolumeUsage) -> f64 {
    if u.capacity_bytes == 0 {
        0.0
    } else {
        u.used_bytes as f64 * 100.0 / u.capacity_bytes as f64
    }
}

fn usage_line(u: &VolumeUsage) -> String {
    format!(
        "pod/{} volume {}{}: {} of {} used ({:.0}%), {} available",
        u.pod,
        u.volume,
        u.pvc
            .as_ref()
            .map(|p| format!(" (pvc/{p})"))
            .unwrap_or_default(),
        human_bytes(u.used_bytes),
        human_bytes(u.capacity_bytes),
        percent(u),
        human_bytes(u.available_bytes)
    )
}

/// `15d`, `10d or 50GiB`, `24h`, `2w` → seconds of the time part (Prometheus model.Duration units).
pub(crate) fn retention_seconds(text: &str) -> Option<f64> {
    let time = text.split(" or ").next()?.trim();
    let mut total = 0.0;
    let mut number = String::new();
    for c in time.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let n: f64 = number.parse().ok()?;
        number.clear();
        total += n * match c {
            'y' => 365.0 * 86400.0,
            'w' => 7.0 * 86400.0,
            'd' => 86400.0,
            'h' => 3600.0,
            'm' => 60.0,
            's' => 1.0,
            _ => return None,
        };
    }
    (number.is_empty() && total > 0.0).then_some(total)
}

/// Whether size-based retention is set, and how we know.
fn retention_size(s: &InstanceSnapshot) -> Option<String> {
    if let Some((_, v)) = s.live_flag("storage.tsdb.retention.size")
        && !unlimited(v)
    {
        return Some(v.to_string());
    }
    let runtime = s
        .live
        .iter()
        .find_map(|l| l.runtimeinfo.as_ref()?.get("storageRetention")?.as_str());
    if let Some(r) = runtime
        && let Some((_, size)) = r.split_once(" or ")
    {
        return Some(size.to_string());
    }
    if let Some(v) = flag_value(&s.instance.args, "storage.tsdb.retention.size")
        && !unlimited(&v)
    {
        return Some(v);
    }
    // Prometheus 3.8+ reads retention from the configuration file (`storage.tsdb.retention.size`): the running one,
    // else the ConfigMap's (issue 19 item 4; the real 3.16 also reports it in its flags and runtimeinfo, above).
    let from_config = |text: &str| {
        crate::yaml::from_str::<serde_json::Value>(text)
            .ok()?
            .pointer("/storage/tsdb/retention/size")
            .and_then(|v| v.as_str().map(str::to_string))
    };
    if let Some(v) = s
        .live
        .iter()
        .find_map(|l| l.config_yaml.as_deref().and_then(from_config))
        .or_else(|| s.config_text.as_deref().and_then(from_config))
        .filter(|v| !unlimited(v))
    {
        return Some(v);
    }
    s.prometheus
        .as_ref()
        .and_then(|p| {
            p.pointer("/spec/retentionSize")?
                .as_str()
                .map(str::to_string)
        })
        .filter(|v| !unlimited(v))
}

/// `--storage.tsdb.retention.size` of 0 (in any unit), or empty, is no size limit at all: Prometheus's flag default
/// is 0 and `0` means disabled (prometheus cmd/prometheus/main.go "[EXPERIMENTAL] Maximum number of bytes …
/// 0 means disabled"); the chart renders `--storage.tsdb.retention.size=` with an empty `server.retentionSize`.
fn unlimited(v: &str) -> bool {
    let digits = v.trim().trim_end_matches(|c: char| c.is_ascii_alphabetic());
    digits.is_empty() || digits.parse::<f64>().is_ok_and(|n| n == 0.0)
}

fn retention_time(s: &InstanceSnapshot) -> Option<f64> {
    let runtime = s
        .live
        .iter()
        .find_map(|l| l.runtimeinfo.as_ref()?.get("storageRetention")?.as_str());
    runtime
        .and_then(retention_seconds)
        .or_else(|| {
            s.live_flag("storage.tsdb.retention.time")
                .and_then(|(_, v)| retention_seconds(v))
        })
        .or_else(|| {
            flag_value(&s.instance.args, "storage.tsdb.retention.time")
                .and_then(|v| retention_seconds(&v))
        })
        // Prometheus's default retention (prometheus-facts.md §2.0 startup line "using the default time retention").
        .or(Some(15.0 * 86400.0))
}

pub fn check(s: &InstanceSnapshot) -> Vec<Finding> {
    let mut out = Vec::new();
    let usage = data_usage(s);
    if let Some((log, hit)) = s.first_hit(Kind::DiskFull) {
        let mut evidence = vec![quote_hit(log, &hit)];
        evidence.extend(usage.iter().map(|u| usage_line(u)));
        let on = hit
            .path
            .as_deref()
            .map(|p| format!(" writing {p}"))
            .unwrap_or_default();
        out.push(Finding::new(
            "PROM-201",
            format!("pod/{}", log.pod),
            evidence,
            format!(
                "Prometheus ran out of space{on}. It cannot open the TSDB or append samples, so it crash-loops or \
                 drops data until the volume grows (deleting data by hand loses history)."
            ),
            resize_fix(s),
        ));
    }
    for u in &usage {
        let pct = percent(u);
        let id = if pct >= 95.0 {
            "PROM-202"
        } else if pct >= 85.0 {
            "PROM-203"
        } else {
            continue;
        };
        if out.iter().any(|f| f.id == "PROM-201") && id == "PROM-202" {
            continue; // the log already proves it full; one critical is enough
        }
        out.push(Finding::new(
            id,
            u.pvc.as_ref().map(|p| format!("pvc/{p}")).unwrap_or_else(|| format!("pod/{}", u.pod)),
            vec![usage_line(u)],
            "Compaction needs free space for the blocks it writes before deleting the old ones; near-full volumes \
             fail compactions and then writes.",
            resize_fix(s),
        ));
    }
    // Days until full: only when size retention does not cap usage and retention would need more than is free.
    let rate = s.live.iter().find_map(|l| l.ingestion_rate);
    if let (Some(rate), None, Some(retention)) = (rate, retention_size(s), retention_time(s))
        && rate > 0.0
    {
        for u in &usage {
            let per_day = rate * BYTES_PER_SAMPLE * 86400.0;
            let needed = rate * BYTES_PER_SAMPLE * retention;
            let days_left = u.available_bytes as f64 / per_day;
            if needed > u.capacity_bytes as f64 && days_left * 86400.0 < retention {
                out.push(Finding::new(
                    "PROM-204",
                    u.pvc.as_ref().map(|p| format!("pvc/{p}")).unwrap_or_else(|| format!("pod/{}", u.pod)),
                    vec![
                        usage_line(u),
                        format!(
                            "ingesting {rate:.0} samples/s ≈ {}/day; retention {:.0}d needs ≈ {}",
                            human_bytes(per_day as u64),
                            retention / 86400.0,
                            human_bytes(needed as u64)
                        ),
                    ],
                    format!("At this rate the volume is full in about {days_left:.1} days, before retention deletes anything."),
                    resize_fix(s),
                ));
            }
        }
    }
    let on_pvc = s
        .instance
        .data
        .as_ref()
        .is_some_and(|d| !d.claims().is_empty());
    for class in classes_not_expandable(s) {
        out.push(Finding::new(
            "PROM-205",
            format!("storageclass/{class}"),
            vec![format!("storageclass/{class}: allowVolumeExpansion is not true")],
            "PVCs of this class cannot grow: the API refuses with `only dynamically provisioned pvc can be resized \
             and the storageclass that provisions the pvc must support resize`.",
            format!(
                "when the volume needs to grow: `{}` (sets allowVolumeExpansion after its own confirmation)",
                s.prom_command("resize --increase 50% --allow-expansion")
            ),
        ));
    }
    if on_pvc && retention_size(s).is_none() {
        let capacity = s
            .pvcs
            .iter()
            .filter_map(|p| p.status.as_ref()?.capacity.as_ref()?.get("storage"))
            .filter_map(|q| crate::quantity::Quantity::parse(&q.0).ok())
            .map(|q| q.bytes())
            .min();
        // 80% of the volume, in the largest unit Prometheus's size flag accepts that keeps it a whole number.
        let limit = capacity.map(|b| b as f64 * 0.8).map(|b| {
            if b >= 1e9 {
                ((b / 1e9).floor(), "GB", 1e9)
            } else {
                ((b / 1e6).floor(), "MB", 1e6)
            }
        });
        let suggestion = limit
            .map(|(n, unit, _)| format!("{n}{unit}"))
            .unwrap_or_else(|| "<80% of the volume>".into());
        // A size limit below what the TSDB holds now makes Prometheus delete its oldest blocks at the next
        // compaction: that is history lost, so the fix says it when the usage shows it (issue 14 class 7's review).
        let used = s.usage.iter().map(|u| u.used_bytes).max();
        let deletes = match (limit, used) {
            (Some((n, _, scale)), Some(used)) if used as f64 > n * scale => Some(used),
            _ => None,
        };
        let install = &s.instance.origin;
        let live_change = match &s.instance.flavour {
            Flavour::Chart { .. } => {
                format!("limit the TSDB with `--storage.tsdb.retention.size={suggestion}`")
            }
            Flavour::Operator { prometheus } => format!(
                "kubectl patch prometheus/{prometheus} -n {} --type merge -p '{{\"spec\":{{\"retentionSize\":\"{suggestion}\"}}}}'",
                s.instance.namespace
            ),
            Flavour::Plain => format!(
                "add `--storage.tsdb.retention.size={suggestion}` to the {} container's args",
                s.instance.container
            ),
        };
        // Where the install comes from decides where the limit is set (issue 18): the chart's own values key
        // (kube-prometheus-stack's `prometheus.prometheusSpec.retentionSize`, not a patch Helm would revert), else
        // the live change and what undoes it.
        let mut how = crate::install::values_change(
            &install.source,
            crate::install::Key::RetentionSize,
            &suggestion,
            &s.instance.namespace,
        )
        .unwrap_or_else(|| {
            let after = install.note(&crate::install::NotedChange {
                key: crate::install::Key::RetentionSize,
                value: Some(&suggestion),
                object: &install.object,
                namespace: &s.instance.namespace,
                statefulset: false,
            });
            match after {
                Some(after) => format!("{live_change}; {after}"),
                None => live_change,
            }
        });
        if let Some(used) = deletes {
            how.push_str(&format!(
                "; but {} is used now, more than {suggestion}: Prometheus would delete its oldest blocks down to that \
                 size at the next compaction, so grow the volume first (`{}`) or set a limit above the usage",
                human_bytes(used),
                s.prom_command("resize --increase 50%")
            ));
        }
        out.push(Finding::new(
            "PROM-206",
            s.target(),
            vec![match flag_value(&s.instance.args, "storage.tsdb.retention.size") {
                Some(v) => format!(
                    "--storage.tsdb.retention.size={v} in {} args: 0 means no size limit",
                    s.instance.container
                ),
                None => format!("no --storage.tsdb.retention.size in {} args", s.instance.container),
            }],
            "Only time-based retention is set, so nothing stops the TSDB from filling the volume when ingestion grows; \
             Prometheus's storage docs suggest at most 80-85% of the volume.",
            how,
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::checks::fixtures::{CHART, HANDMADE, ids, instance, log, with_item_after};
    use crate::doctor::snapshot::LiveStatus;

    const GI: u64 = 1 << 30;

    fn usage(used_gi: f64) -> VolumeUsage {
        VolumeUsage {
            pod: "prometheus-server-6d9f8b7c4-x2x9k".into(),
            namespace: "monitoring".into(),
            volume: "storage-volume".into(),
            pvc: Some("prometheus-server".into()),
            capacity_bytes: 8 * GI,
            used_bytes: (used_gi * GI as f64) as u64,
            available_bytes: 8 * GI - (used_gi * GI as f64) as u64,
        }
    }

    #[test]
    fn no_space_left_in_the_log_is_prom_201_with_the_resize_command() {
        for fixture in [
            "v2-chart-disk-full.log",
            "v2.42-sigbus-disk-full.log",
            "v3-disk-full-query-log.log",
        ] {
            let s = instance(CHART, &[("prometheus-server", false, &log(fixture))]);
            let f = check(&s);
            assert_eq!(f[0].id, "PROM-201", "{fixture}");
            assert_eq!(
                f[0].fix,
                "kubectl prom resize deploy/prometheus-server -n monitoring --increase 50%"
            );
        }
    }

    #[test]
    fn a_class_that_cannot_grow_adds_allow_expansion_and_prom_205() {
        let yaml = CHART.replace("allowVolumeExpansion: true", "allowVolumeExpansion: false");
        let s = instance(
            &yaml,
            &[("prometheus-server", false, &log("v2-chart-disk-full.log"))],
        );
        let f = check(&s);
        assert!(f[0].fix.ends_with("--increase 50% --allow-expansion"));
        assert!(ids(&f).contains(&"PROM-205"));
    }

    #[test]
    fn usage_thresholds() {
        let mut s = instance(CHART, &[]);
        s.usage = vec![usage(6.0)];
        assert!(
            !ids(&check(&s))
                .iter()
                .any(|id| id.starts_with("PROM-20") && *id != "PROM-206")
        );
        s.usage = vec![usage(7.0)];
        assert!(ids(&check(&s)).contains(&"PROM-203"));
        s.usage = vec![usage(7.8)];
        let f = check(&s);
        assert!(ids(&f).contains(&"PROM-202"));
        assert!(f[0].evidence[0].contains("(97%)"), "{}", f[0].evidence[0]);
    }

    #[test]
    fn days_until_full_from_the_ingestion_rate() {
        let mut s = instance(CHART, &[]);
        s.usage = vec![usage(4.0)];
        // 20k samples/s * 2 B = 3.2 GiB/day: 4 GiB free lasts ~1.2 days, 15d would need ~48 GiB.
        s.live.push(LiveStatus {
            pod: "prometheus-server-6d9f8b7c4-x2x9k".into(),
            ingestion_rate: Some(20_000.0),
            ..Default::default()
        });
        let f = check(&s);
        let filling = f.iter().find(|f| f.id == "PROM-204").expect("PROM-204");
        assert!(filling.meaning.contains("1.2 days"), "{}", filling.meaning);
        // A small rate fits: no finding.
        s.live[0].ingestion_rate = Some(100.0);
        assert!(!ids(&check(&s)).contains(&"PROM-204"));
    }

    #[test]
    fn retention_size_missing_is_info_with_a_flavour_specific_fix() {
        let f = check(&instance(CHART, &[]));
        assert_eq!(ids(&f), ["PROM-206"]);
        assert!(
            f[0].fix.contains("server.retentionSize: 6GB"),
            "{}",
            f[0].fix
        );
        let yaml = with_item_after(
            CHART,
            "--storage.tsdb.retention.time=15d",
            "--storage.tsdb.retention.size=6GB",
        );
        assert!(check(&instance(&yaml, &[])).is_empty());
        // 3.8+: retention in the configuration file, read offline from the ConfigMap's text.
        let mut in_file = instance(CHART, &[]);
        in_file.config_text = Some(
            "global:\n  scrape_interval: 15s\nstorage:\n  tsdb:\n    retention:\n      size: 5GB\n"
                .into(),
        );
        assert!(check(&in_file).is_empty());
        let f = check(&instance(HANDMADE, &[]));
        assert!(ids(&f).contains(&"PROM-205"));
        assert!(f.iter().any(|f| f.id == "PROM-206" && f.fix.contains("--storage.tsdb.retention.size=17GB")));
        let small = HANDMADE.replace("storage: 20Gi", "storage: 32Mi");
        let f = check(&instance(&small, &[]));
        assert!(f.iter().any(|f| f.id == "PROM-206" && f.fix.contains("--storage.tsdb.retention.size=26MB")), "{f:?}");
    }

    #[test]
    fn a_retention_size_of_zero_is_no_limit() {
        // Bitnami's chart renders `--storage.tsdb.retention.size=0` by default (issue 18 item 8).
        for zero in ["0", "0B", "0GB", ""] {
            let yaml = with_item_after(
                CHART,
                "--storage.tsdb.retention.time=15d",
                &format!("--storage.tsdb.retention.size={zero}"),
            );
            let f = check(&instance(&yaml, &[]));
            assert_eq!(ids(&f), ["PROM-206"], "{zero}: {f:?}");
        }
    }

    #[test]
    fn a_retention_size_below_the_usage_says_it_deletes_history() {
        // 8Gi volume → 6GB suggested; 7Gi used is more: the fix must say blocks would be deleted.
        let mut s = instance(CHART, &[]);
        s.usage = vec![usage(7.0)];
        let f = check(&s);
        let retention = f.iter().find(|f| f.id == "PROM-206").expect("PROM-206");
        assert!(
            retention.fix.contains(
                "7.0Gi is used now, more than 6GB: Prometheus would delete its oldest blocks"
            ),
            "{}",
            retention.fix
        );
        assert!(
            retention.fix.contains(
                "kubectl prom resize deploy/prometheus-server -n monitoring --increase 50%"
            )
        );
        // 2Gi used: the limit deletes nothing and the fix says nothing more.
        s.usage = vec![usage(2.0)];
        let f = check(&s);
        let retention = f.iter().find(|f| f.id == "PROM-206").expect("PROM-206");
        assert!(!retention.fix.contains("delete"), "{}", retention.fix);
    }

    #[test]
    fn retention_durations() {
        assert_eq!(retention_seconds("15d"), Some(15.0 * 86400.0));
        assert_eq!(retention_seconds("10d or 50GiB"), Some(10.0 * 86400.0));
        assert_eq!(retention_seconds("1d12h"), Some(1.5 * 86400.0));
        assert_eq!(retention_seconds("soon"), None);
    }
}
