//! `GET /containers/{id}/stats`: one resource-usage sample (a stream of them unless `stream=false`).
//!
//! Unlike the rest of the API these field names are snake_case. Linux-only and Windows-only
//! fields are omitted when zero, as dockerd does.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::gojson::{is_default, null_default};

/// A stats sample (spec `ContainerStatsResponse`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ContainerStatsResponse {
    /// Container name with a leading `/`.
    #[serde(skip_serializing_if = "String::is_empty", deserialize_with = "null_default")]
    pub name: String,
    /// Container ID.
    #[serde(skip_serializing_if = "String::is_empty", deserialize_with = "null_default")]
    pub id: String,
    /// When this sample was taken, RFC 3339 with nanoseconds.
    #[serde(deserialize_with = "null_default")]
    pub read: String,
    /// When the previous sample was taken; `0001-01-01T00:00:00Z` for the first one.
    #[serde(deserialize_with = "null_default")]
    pub preread: String,
    /// Process counts.
    #[serde(deserialize_with = "null_default")]
    pub pids_stats: PidsStats,
    /// Block IO.
    #[serde(deserialize_with = "null_default")]
    pub blkio_stats: BlkioStats,
    /// Processor count (Windows only; 0 on Linux).
    #[serde(deserialize_with = "null_default")]
    pub num_procs: u32,
    /// Disk IO (Windows only).
    #[serde(deserialize_with = "null_default")]
    pub storage_stats: StorageStats,
    /// CPU usage now.
    #[serde(deserialize_with = "null_default")]
    pub cpu_stats: CpuStats,
    /// CPU usage at the previous sample; clients compute percentages from the difference.
    #[serde(deserialize_with = "null_default")]
    pub precpu_stats: CpuStats,
    /// Memory usage.
    #[serde(deserialize_with = "null_default")]
    pub memory_stats: MemoryStats,
    /// Per-interface network counters; omitted when the container has no network.
    #[serde(skip_serializing_if = "BTreeMap::is_empty", deserialize_with = "null_default")]
    pub networks: BTreeMap<String, NetworkStats>,
}

/// `pids_stats` (spec `ContainerPidsStats`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PidsStats {
    /// Number of PIDs in the cgroup.
    #[serde(skip_serializing_if = "is_default", deserialize_with = "null_default")]
    pub current: u64,
    /// PID limit; 0 means none (cgroup v2 `max` is sent as `u64::MAX`).
    #[serde(skip_serializing_if = "is_default", deserialize_with = "null_default")]
    pub limit: u64,
}

/// `blkio_stats` (spec `ContainerBlkioStats`).
///
/// On cgroup v2 only `io_service_bytes_recursive` is set; the others are `null`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct BlkioStats {
    /// Bytes transferred per device and operation.
    pub io_service_bytes_recursive: Option<Vec<BlkioStatEntry>>,
    /// IO operations per device and operation (cgroup v1).
    pub io_serviced_recursive: Option<Vec<BlkioStatEntry>>,
    /// Queued IOs (cgroup v1).
    pub io_queue_recursive: Option<Vec<BlkioStatEntry>>,
    /// IO service time (cgroup v1).
    pub io_service_time_recursive: Option<Vec<BlkioStatEntry>>,
    /// IO wait time (cgroup v1).
    pub io_wait_time_recursive: Option<Vec<BlkioStatEntry>>,
    /// Merged IOs (cgroup v1).
    pub io_merged_recursive: Option<Vec<BlkioStatEntry>>,
    /// IO time (cgroup v1).
    pub io_time_recursive: Option<Vec<BlkioStatEntry>>,
    /// Sectors transferred (cgroup v1).
    pub sectors_recursive: Option<Vec<BlkioStatEntry>>,
}

/// One block IO counter (spec `ContainerBlkioStatEntry`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct BlkioStatEntry {
    /// Device major number.
    #[serde(deserialize_with = "null_default")]
    pub major: u64,
    /// Device minor number.
    #[serde(deserialize_with = "null_default")]
    pub minor: u64,
    /// Operation: `read`, `write`, ... (lower case on cgroup v2, capitalised on v1).
    #[serde(deserialize_with = "null_default")]
    pub op: String,
    /// Counter value.
    #[serde(deserialize_with = "null_default")]
    pub value: u64,
}

/// `storage_stats` (spec `ContainerStorageStats`, Windows only).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct StorageStats {
    /// Normalised read count.
    #[serde(skip_serializing_if = "is_default", deserialize_with = "null_default")]
    pub read_count_normalized: u64,
    /// Bytes read.
    #[serde(skip_serializing_if = "is_default", deserialize_with = "null_default")]
    pub read_size_bytes: u64,
    /// Normalised write count.
    #[serde(skip_serializing_if = "is_default", deserialize_with = "null_default")]
    pub write_count_normalized: u64,
    /// Bytes written.
    #[serde(skip_serializing_if = "is_default", deserialize_with = "null_default")]
    pub write_size_bytes: u64,
}

/// `cpu_stats` and `precpu_stats` (spec `ContainerCPUStats`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CpuStats {
    /// CPU time used by the container.
    #[serde(deserialize_with = "null_default")]
    pub cpu_usage: CpuUsage,
    /// Host CPU time in nanoseconds (Linux).
    #[serde(skip_serializing_if = "is_default", deserialize_with = "null_default")]
    pub system_cpu_usage: u64,
    /// Online CPUs (Linux).
    #[serde(skip_serializing_if = "is_default", deserialize_with = "null_default")]
    pub online_cpus: u32,
    /// CFS throttling counters (Linux).
    #[serde(deserialize_with = "null_default")]
    pub throttling_data: ThrottlingData,
}

/// `cpu_stats.cpu_usage` (spec `ContainerCPUUsage`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CpuUsage {
    /// Total CPU time in nanoseconds.
    #[serde(deserialize_with = "null_default")]
    pub total_usage: u64,
    /// Per-CPU time (cgroup v1 only).
    #[serde(skip_serializing_if = "Vec::is_empty", deserialize_with = "null_default")]
    pub percpu_usage: Vec<u64>,
    /// Kernel-mode time in nanoseconds.
    #[serde(deserialize_with = "null_default")]
    pub usage_in_kernelmode: u64,
    /// User-mode time in nanoseconds.
    #[serde(deserialize_with = "null_default")]
    pub usage_in_usermode: u64,
}

/// `cpu_stats.throttling_data` (spec `ContainerThrottlingData`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ThrottlingData {
    /// Periods with throttling active.
    #[serde(deserialize_with = "null_default")]
    pub periods: u64,
    /// Periods in which the container hit its limit.
    #[serde(deserialize_with = "null_default")]
    pub throttled_periods: u64,
    /// Total throttled time in nanoseconds.
    #[serde(deserialize_with = "null_default")]
    pub throttled_time: u64,
}

/// `memory_stats` (spec `ContainerMemoryStats`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct MemoryStats {
    /// Current usage in bytes (Linux).
    #[serde(skip_serializing_if = "is_default", deserialize_with = "null_default")]
    pub usage: u64,
    /// Peak usage (cgroup v1).
    #[serde(skip_serializing_if = "is_default", deserialize_with = "null_default")]
    pub max_usage: u64,
    /// The cgroup's `memory.stat` counters (Linux).
    #[serde(skip_serializing_if = "BTreeMap::is_empty", deserialize_with = "null_default")]
    pub stats: BTreeMap<String, u64>,
    /// Times the limit was hit (cgroup v1).
    #[serde(skip_serializing_if = "is_default", deserialize_with = "null_default")]
    pub failcnt: u64,
    /// Memory limit in bytes (Linux).
    #[serde(skip_serializing_if = "is_default", deserialize_with = "null_default")]
    pub limit: u64,
    /// Committed bytes (Windows).
    #[serde(skip_serializing_if = "is_default", deserialize_with = "null_default")]
    pub commitbytes: u64,
    /// Peak committed bytes (Windows).
    #[serde(skip_serializing_if = "is_default", deserialize_with = "null_default")]
    pub commitpeakbytes: u64,
    /// Private working set (Windows).
    #[serde(skip_serializing_if = "is_default", deserialize_with = "null_default")]
    pub privateworkingset: u64,
}

/// Counters of one network interface (spec `ContainerNetworkStats`), in `networks`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct NetworkStats {
    /// Bytes received.
    #[serde(deserialize_with = "null_default")]
    pub rx_bytes: u64,
    /// Packets received.
    #[serde(deserialize_with = "null_default")]
    pub rx_packets: u64,
    /// Receive errors.
    #[serde(deserialize_with = "null_default")]
    pub rx_errors: u64,
    /// Incoming packets dropped.
    #[serde(deserialize_with = "null_default")]
    pub rx_dropped: u64,
    /// Bytes sent.
    #[serde(deserialize_with = "null_default")]
    pub tx_bytes: u64,
    /// Packets sent.
    #[serde(deserialize_with = "null_default")]
    pub tx_packets: u64,
    /// Send errors.
    #[serde(deserialize_with = "null_default")]
    pub tx_errors: u64,
    /// Outgoing packets dropped.
    #[serde(deserialize_with = "null_default")]
    pub tx_dropped: u64,
    /// Endpoint ID (Windows only).
    #[serde(skip_serializing_if = "String::is_empty", deserialize_with = "null_default")]
    pub endpoint_id: String,
    /// Instance ID (Windows only).
    #[serde(skip_serializing_if = "String::is_empty", deserialize_with = "null_default")]
    pub instance_id: String,
}
