//! Owner ids translated between a tar stream and a container's files when the container has
//! a user namespace (`--userns-remap`), as dockerd's archive `IDMap` does: what `cp` puts in
//! a remapped container is owned by the host ids of the archive's (or root's) ids; what `cp`,
//! `export` and `commit` take out carries the ids the container sees.

/// A translation of uids and gids: ranges of (first id from, first id to, count). An id in no
/// range becomes the overflow id 65534 (nobody), as the kernel shows an unmapped id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OwnerMap {
    uids: Vec<(u32, u32, u32)>,
    gids: Vec<(u32, u32, u32)>,
}

/// What an id outside the ranges becomes.
pub const OVERFLOW_ID: u32 = 65534;

fn map(ranges: &[(u32, u32, u32)], id: u32) -> u32 {
    ranges
        .iter()
        .find(|(from, _, n)| id >= *from && id - from < *n)
        .and_then(|(from, to, _)| to.checked_add(id - from))
        .unwrap_or(OVERFLOW_ID)
}

impl OwnerMap {
    /// A translation of uids and gids by ranges of (first id from, first id to, count).
    pub fn new(uids: Vec<(u32, u32, u32)>, gids: Vec<(u32, u32, u32)>) -> Self {
        OwnerMap { uids, gids }
    }

    /// The other way round.
    pub fn inverse(&self) -> Self {
        let inv = |v: &[(u32, u32, u32)]| v.iter().map(|&(from, to, n)| (to, from, n)).collect();
        OwnerMap { uids: inv(&self.uids), gids: inv(&self.gids) }
    }

    /// The uid `id` becomes.
    pub fn uid(&self, id: u32) -> u32 {
        map(&self.uids, id)
    }

    /// The gid `id` becomes.
    pub fn gid(&self, id: u32) -> u32 {
        map(&self.gids, id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_ways() {
        let m = OwnerMap::new(vec![(0, 100_000, 1000), (1000, 300_000, 10)], vec![(0, 200_000, 65_536)]);
        assert_eq!((m.uid(0), m.uid(999), m.uid(1005), m.uid(5000)), (100_000, 100_999, 300_005, OVERFLOW_ID));
        assert_eq!(m.gid(5), 200_005);
        let back = m.inverse();
        assert_eq!((back.uid(100_000), back.uid(300_009), back.uid(0)), (0, 1009, OVERFLOW_ID));
        assert_eq!(back.gid(265_535), 65_535);
    }
}
