//! PNG's CRC-32 (ISO-HDLC, reflected polynomial 0xEDB88320), slicing by 16 bytes.
//!
//! The same algorithm as `crc32fast`'s portable path (the one wasm32 gets), but its 16 KB of
//! tables are built on first use instead of shipped as a static: as wasm data they do not
//! compress and cost the module ~13 KB gzipped, over its 200 KB budget. Checked against
//! `crc32fast` in the tests below.
//!
//! A host with a faster CRC-32 may hand it over once with [`accelerate`]: the worker gives
//! node:zlib's, which runs natively (PCLMULQDQ) at several times the speed of this table
//! code in wasm. It takes over runs of at least [`ACCELERATED_FROM`] bytes, where it saves
//! more than the call costs.

use std::sync::OnceLock;

type Tables = [[u32; 256]; 16];

fn tables() -> &'static Tables {
    static TABLES: OnceLock<Box<Tables>> = OnceLock::new();
    TABLES.get_or_init(|| {
        let mut tables = Box::new([[0u32; 256]; 16]);
        for (byte, entry) in tables[0].iter_mut().enumerate() {
            *entry = (0..8).fold(byte as u32, |crc, _| if crc & 1 == 1 { 0xEDB8_8320 ^ (crc >> 1) } else { crc >> 1 });
        }
        // Row k: the CRC of a byte followed by k zero bytes.
        for k in 1..16 {
            for byte in 0..256 {
                let previous = tables[k - 1][byte];
                tables[k][byte] = (previous >> 8) ^ tables[0][(previous & 0xFF) as usize];
            }
        }
        tables
    })
}

/// `update(crc, bytes)`: the CRC-32 of everything `crc` covered followed by `bytes` (zlib's
/// `crc32(crc, buf, len)` contract), or `None` to leave the run to the tables.
pub type Accelerator = fn(u32, &[u8]) -> Option<u32>;

static ACCELERATOR: OnceLock<Accelerator> = OnceLock::new();

/// Runs shorter than this stay in the table code.
pub const ACCELERATED_FROM: usize = 2048;

/// Installs the host's CRC-32 for long runs; the first one installed stays.
pub fn accelerate(update: Accelerator) {
    let _ = ACCELERATOR.set(update);
}

/// A running CRC-32; `Default` is the CRC of no bytes.
#[derive(Clone, Copy, Default)]
pub struct Crc32(u32);

impl Crc32 {
    pub fn update(&mut self, bytes: &[u8]) {
        self.update_with(ACCELERATOR.get().copied(), bytes);
    }

    fn update_with(&mut self, accelerator: Option<Accelerator>, bytes: &[u8]) {
        if let Some(crc) = accelerator.filter(|_| bytes.len() >= ACCELERATED_FROM).and_then(|update| update(self.0, bytes)) {
            self.0 = crc;
            return;
        }
        let t = tables();
        let mut crc = !self.0;
        let mut blocks = bytes.chunks_exact(16);
        for b in &mut blocks {
            let w = u32::from_le_bytes([b[0], b[1], b[2], b[3]]) ^ crc;
            crc = t[15][(w & 0xFF) as usize]
                ^ t[14][((w >> 8) & 0xFF) as usize]
                ^ t[13][((w >> 16) & 0xFF) as usize]
                ^ t[12][(w >> 24) as usize]
                ^ t[11][b[4] as usize]
                ^ t[10][b[5] as usize]
                ^ t[9][b[6] as usize]
                ^ t[8][b[7] as usize]
                ^ t[7][b[8] as usize]
                ^ t[6][b[9] as usize]
                ^ t[5][b[10] as usize]
                ^ t[4][b[11] as usize]
                ^ t[3][b[12] as usize]
                ^ t[2][b[13] as usize]
                ^ t[1][b[14] as usize]
                ^ t[0][b[15] as usize];
        }
        for &byte in blocks.remainder() {
            crc = (crc >> 8) ^ t[0][((crc ^ u32::from(byte)) & 0xFF) as usize];
        }
        self.0 = !crc;
    }

    pub fn finalize(self) -> u32 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::{Accelerator, Crc32, ACCELERATED_FROM};

    fn crc(pieces: &[&[u8]]) -> u32 {
        let mut crc = Crc32::default();
        pieces.iter().for_each(|piece| crc.update(piece));
        crc.finalize()
    }

    #[test]
    fn known_values() {
        assert_eq!(crc(&[]), 0);
        assert_eq!(crc(&[b"123456789"]), 0xCBF4_3926);
        assert_eq!(crc(&[b"IEND"]), 0xAE42_6082);
    }

    fn crc32fast_from(crc: u32, bytes: &[u8]) -> Option<u32> {
        let mut hasher = crc32fast::Hasher::new_with_initial(crc);
        hasher.update(bytes);
        Some(hasher.finalize())
    }

    /// Runs on both sides of the threshold, with the tables alone, with an accelerator
    /// (crc32fast standing in for the host's) and with one that declines: the same CRC.
    #[test]
    fn long_runs_with_and_without_an_accelerator() {
        let bytes: Vec<u8> = (0u32..3 * ACCELERATED_FROM as u32).map(|i| (i.wrapping_mul(40_503) >> 7) as u8).collect();
        for accelerator in [None, Some(crc32fast_from as Accelerator), Some((|_, _| None) as Accelerator)] {
            for split in [0, 1, ACCELERATED_FROM - 1, ACCELERATED_FROM, bytes.len() - 1] {
                let (a, b) = bytes.split_at(split);
                let mut crc = Crc32::default();
                crc.update_with(accelerator, a);
                crc.update_with(accelerator, b);
                assert_eq!(crc.finalize(), crc32fast::hash(&bytes), "split {split}");
            }
        }
    }

    #[test]
    fn agrees_with_crc32fast_on_every_length_and_split() {
        let bytes: Vec<u8> = (0u32..600).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
        for len in 0..bytes.len() {
            let data = &bytes[..len];
            let expected = crc32fast::hash(data);
            assert_eq!(crc(&[data]), expected, "length {len}");
            for split in [1, 7, 15, 16, 17, len / 2] {
                let (a, b) = data.split_at(split.min(len));
                assert_eq!(crc(&[a, b]), expected, "length {len} split {split}");
            }
        }
    }
}
