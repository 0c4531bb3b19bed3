//! MNIST from the standard IDX files (raw or gzip), and the embedded subset.
//!
//! IDX layout (big-endian): a magic number `0x0000_08_NN` (type byte 0x08 =
//! unsigned byte, NN = number of dimensions), NN dimension sizes as u32, then
//! the data. Images are `0x00000803` (count × 28 × 28), labels `0x00000801`
//! (count). Every read checks the magic number, the dimensions and the length;
//! a truncated or wrong file is an error naming the file.
//!
//! The embedded default is the first 10,000 training and the first 2,000 test
//! images of the original files (MNIST by Yann LeCun and Corinna Cortes,
//! CC BY-SA 3.0); see `plugins/autoencoder/data/README.md`.

use flate2::read::GzDecoder;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Side of an MNIST image in pixels.
pub const SIDE: usize = 28;
/// Pixels per MNIST image.
pub const PIXELS: usize = SIDE * SIDE;

const IMAGES_MAGIC: u32 = 0x0000_0803;
const LABELS_MAGIC: u32 = 0x0000_0801;

/// An error reading MNIST: always names the file.
#[derive(Debug, thiserror::Error)]
pub enum MnistError {
    /// The file could not be opened or read.
    #[error("cannot read MNIST file `{file}`: {source}")]
    Io {
        /// The file.
        file: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is not the IDX file expected.
    #[error("MNIST file `{file}` is not valid: {reason}")]
    Invalid {
        /// The file.
        file: String,
        /// What is wrong.
        reason: String,
    },
    /// None of the accepted names of a file exists in the folder.
    #[error("no MNIST file `{name}` (or `{name}.gz`) in `{dir}` (nor in `{dir}/MNIST/raw`)")]
    Missing {
        /// The folder searched.
        dir: String,
        /// The base name looked for.
        name: String,
    },
}

fn invalid(file: &str, reason: impl Into<String>) -> MnistError {
    MnistError::Invalid {
        file: file.to_string(),
        reason: reason.into(),
    }
}

/// A set of images with their labels. The pixels are kept as the file's bytes
/// (0–255); the network sees them scaled to [0, 1] by dividing by 255, as in
/// the authors' code ([`Mnist::images`], [`Mnist::image`], and
/// [`crate::batched::Pixels::Bytes`] for the kernels). Keeping bytes makes
/// loading a copy of the file (47 MB for the full training set) instead of an
/// f64 array eight times larger.
#[derive(Debug, Clone)]
pub struct Mnist {
    /// Pixel bytes, image after image, each [`PIXELS`] long, row-major.
    pub pixels: Vec<u8>,
    /// Labels 0–9.
    pub labels: Vec<u8>,
}

/// The value the network sees for a pixel byte: b / 255.
#[inline]
pub fn pixel_value(b: u8) -> f64 {
    b as f64 / 255.0
}

impl Mnist {
    /// The number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }
    /// Whether there are no images.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
    /// Every pixel value in [0, 1] ([`pixel_value`]), image after image
    /// (`len() × PIXELS` values).
    pub fn images(&self) -> Vec<f64> {
        self.pixels.iter().map(|&b| pixel_value(b)).collect()
    }
    /// Image `n` as [`PIXELS`] values in [0, 1].
    pub fn image(&self, n: usize) -> Vec<f64> {
        self.pixels[n * PIXELS..(n + 1) * PIXELS]
            .iter()
            .map(|&b| pixel_value(b))
            .collect()
    }
    /// The bytes of the first `n` images (all if fewer), without a copy.
    pub fn first_pixels(&self, n: usize) -> &[u8] {
        &self.pixels[..n.min(self.len()) * PIXELS]
    }
    /// The first `n` images (all if fewer).
    pub fn take(&self, n: usize) -> Mnist {
        let n = n.min(self.len());
        Mnist {
            pixels: self.pixels[..n * PIXELS].to_vec(),
            labels: self.labels[..n].to_vec(),
        }
    }
}

/// The training and test sets.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// Training images.
    pub train: Mnist,
    /// Test images.
    pub test: Mnist,
    /// Where they came from (`embedded subset` or a folder).
    pub source: String,
}

fn be_u32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Reads from `r` until `buf` is full or the stream ends; the bytes read.
fn read_full(r: &mut dyn Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(k) => got += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

/// The most data bytes reserved before reading them (a header may claim any
/// size; a larger file still loads, growing the vector as it is read).
const RESERVE_AT_MOST: usize = 1 << 28;

/// Reads an IDX file of unsigned bytes with the given magic number from
/// `src`, raw or gzip (detected by the gzip magic 1f 8b), checking the magic
/// number, the dimensions and the length; returns (dimensions, data). The
/// data are read (or decompressed) straight into their vector: no copy of
/// the file is kept.
///
/// Errors name `file`: unreadable ([`MnistError::Io`]), corrupt gzip data,
/// a wrong magic number, a truncated header or data, bytes beyond the data
/// ([`MnistError::Invalid`]).
pub fn read_idx(
    mut src: impl Read,
    magic: u32,
    file: &str,
) -> Result<(Vec<usize>, Vec<u8>), MnistError> {
    let io = |e: std::io::Error| MnistError::Io {
        file: file.to_string(),
        source: e,
    };
    let mut start = [0u8; 2];
    let k = read_full(&mut src, &mut start).map_err(io)?;
    let gz = k == 2 && start == [0x1f, 0x8b];
    let chained = (&start[..k]).chain(src);
    let mut r: Box<dyn Read + '_> = if gz {
        Box::new(GzDecoder::new(chained))
    } else {
        Box::new(chained)
    };
    let fail = |e: std::io::Error| {
        if gz {
            invalid(file, format!("corrupt gzip data: {e}"))
        } else {
            io(e)
        }
    };
    let mut head = [0u8; 4];
    let got = read_full(&mut r, &mut head).map_err(fail)?;
    if got < 4 {
        return Err(invalid(
            file,
            format!("{got} bytes is too short for an IDX header"),
        ));
    }
    let m = be_u32(&head, 0);
    if m != magic {
        return Err(invalid(
            file,
            format!("magic number {m:#010x}, expected {magic:#010x}"),
        ));
    }
    let ndim = (magic & 0xff) as usize;
    let mut sizes = vec![0u8; 4 * ndim];
    if read_full(&mut r, &mut sizes).map_err(fail)? < sizes.len() {
        return Err(invalid(file, "truncated IDX header"));
    }
    let dims: Vec<usize> = (0..ndim).map(|d| be_u32(&sizes, 4 * d) as usize).collect();
    let Some(expected) = dims.iter().try_fold(1usize, |p, &d| p.checked_mul(d)) else {
        return Err(invalid(file, format!("dimensions {dims:?} are too large")));
    };
    let mut data = Vec::with_capacity(expected.min(RESERVE_AT_MOST));
    r.by_ref()
        .take(expected as u64)
        .read_to_end(&mut data)
        .map_err(fail)?;
    let extra = if data.len() == expected {
        std::io::copy(&mut r, &mut std::io::sink()).map_err(fail)? as usize
    } else {
        0
    };
    let got = data.len() + extra;
    if got != expected {
        return Err(invalid(
            file,
            format!(
                "dimensions {dims:?} need {expected} data bytes, found {got}{}",
                if got < expected { " (truncated)" } else { "" }
            ),
        ));
    }
    Ok((dims, data))
}

/// Reads an images file and a labels file (raw or gzip IDX, [`read_idx`])
/// into a set, checking that they match.
pub fn read_pair(
    images: impl Read,
    images_name: &str,
    labels: impl Read,
    labels_name: &str,
) -> Result<Mnist, MnistError> {
    let (idims, pix) = read_idx(images, IMAGES_MAGIC, images_name)?;
    if idims[1] != SIDE || idims[2] != SIDE {
        return Err(invalid(
            images_name,
            format!("images are {}×{}, expected 28×28", idims[1], idims[2]),
        ));
    }
    let (ldims, lab) = read_idx(labels, LABELS_MAGIC, labels_name)?;
    if ldims[0] != idims[0] {
        return Err(invalid(
            labels_name,
            format!(
                "{} labels for {} images in `{images_name}`",
                ldims[0], idims[0]
            ),
        ));
    }
    if let Some(&bad) = lab.iter().find(|&&l| l > 9) {
        return Err(invalid(labels_name, format!("label {bad} is not a digit")));
    }
    Ok(Mnist {
        pixels: pix,
        labels: lab,
    })
}

/// Parses an images file and a labels file given as bytes (raw or gzip):
/// [`read_pair`] on them.
pub fn parse_pair(
    images: &[u8],
    images_name: &str,
    labels: &[u8],
    labels_name: &str,
) -> Result<Mnist, MnistError> {
    read_pair(images, images_name, labels, labels_name)
}

fn find(dir: &Path, name: &str) -> Result<PathBuf, MnistError> {
    for base in [dir.to_path_buf(), dir.join("MNIST").join("raw")] {
        for cand in [name.to_string(), format!("{name}.gz")] {
            let p = base.join(&cand);
            if p.is_file() {
                return Ok(p);
            }
        }
    }
    Err(MnistError::Missing {
        dir: dir.display().to_string(),
        name: name.to_string(),
    })
}

fn open(p: &Path) -> Result<std::fs::File, MnistError> {
    std::fs::File::open(p).map_err(|e| MnistError::Io {
        file: p.display().to_string(),
        source: e,
    })
}

/// Loads one set (`train` or `t10k`) from a folder holding the standard file
/// names (`train-images-idx3-ubyte`, optionally `.gz`; the folder itself or its
/// torchvision layout `MNIST/raw`).
pub fn load_set(dir: &Path, prefix: &str) -> Result<Mnist, MnistError> {
    let ip = find(dir, &format!("{prefix}-images-idx3-ubyte"))?;
    let lp = find(dir, &format!("{prefix}-labels-idx1-ubyte"))?;
    read_pair(
        open(&ip)?,
        &ip.display().to_string(),
        open(&lp)?,
        &lp.display().to_string(),
    )
}

/// Loads the training and test sets from a folder.
pub fn load_dir(dir: &Path) -> Result<Dataset, MnistError> {
    Ok(Dataset {
        train: load_set(dir, "train")?,
        test: load_set(dir, "t10k")?,
        source: dir.display().to_string(),
    })
}

/// The embedded files, gzip IDX: the first 10,000 training images and labels.
pub static EMBEDDED_TRAIN_IMAGES: &[u8] = include_bytes!("../data/train-images-10k-idx3-ubyte.gz");
/// Labels of [`EMBEDDED_TRAIN_IMAGES`].
pub static EMBEDDED_TRAIN_LABELS: &[u8] = include_bytes!("../data/train-labels-10k-idx1-ubyte.gz");
/// The first 2,000 test images.
pub static EMBEDDED_TEST_IMAGES: &[u8] = include_bytes!("../data/t10k-images-2k-idx3-ubyte.gz");
/// Labels of [`EMBEDDED_TEST_IMAGES`].
pub static EMBEDDED_TEST_LABELS: &[u8] = include_bytes!("../data/t10k-labels-2k-idx1-ubyte.gz");

/// The embedded subset: first 10,000 training and 2,000 test images.
pub fn embedded() -> Dataset {
    let train = parse_pair(
        EMBEDDED_TRAIN_IMAGES,
        "embedded train-images-10k",
        EMBEDDED_TRAIN_LABELS,
        "embedded train-labels-10k",
    )
    .expect("the embedded MNIST subset is valid (checked by tests)");
    let test = parse_pair(
        EMBEDDED_TEST_IMAGES,
        "embedded t10k-images-2k",
        EMBEDDED_TEST_LABELS,
        "embedded t10k-labels-2k",
    )
    .expect("the embedded MNIST subset is valid (checked by tests)");
    Dataset {
        train,
        test,
        source: "embedded subset (first 10,000 training, 2,000 test images)".into(),
    }
}

/// `--data DIR` if given, else the embedded subset.
pub fn load(dir: Option<&Path>) -> Result<Dataset, MnistError> {
    match dir {
        Some(d) => load_dir(d),
        None => Ok(embedded()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(gz: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        GzDecoder::new(gz).read_to_end(&mut out).unwrap();
        out
    }

    #[test]
    fn embedded_facts() {
        let d = embedded();
        assert_eq!(d.train.len(), 10_000);
        assert_eq!(d.test.len(), 2_000);
        // Published fact (design-notes): the first training labels.
        assert_eq!(&d.train.labels[..10], &[5, 0, 4, 1, 9, 2, 1, 3, 1, 4]);
        // Second code path: the mean straight from the raw bytes after the
        // 16-byte header, summed as integers.
        for (set, gz) in [
            (&d.train, EMBEDDED_TRAIN_IMAGES),
            (&d.test, EMBEDDED_TEST_IMAGES),
        ] {
            let r = raw(gz);
            let s: u64 = r[16..].iter().map(|&b| b as u64).sum();
            let oracle = s as f64 / (r.len() - 16) as f64 / 255.0;
            let mean = set.images().iter().sum::<f64>() / set.pixels.len() as f64;
            assert!((mean - oracle).abs() < 1e-12, "{mean} vs {oracle}");
        }
        // Pixels that are zero in every image: the full set has 67 of 784
        // (design-notes); a subset of it has at least as many.
        let zero = (0..PIXELS)
            .filter(|&i| (0..d.train.len()).all(|n| d.train.pixels[n * PIXELS + i] == 0))
            .count();
        assert!(zero >= 67, "{zero}");
    }

    #[test]
    fn corrupt_files_are_named_errors() {
        let img = raw(EMBEDDED_TEST_IMAGES);
        let lab = raw(EMBEDDED_TEST_LABELS);
        // Truncated.
        let e = parse_pair(&img[..img.len() - 5], "img.idx", &lab, "lab.idx")
            .unwrap_err()
            .to_string();
        assert!(e.contains("img.idx") && e.contains("truncated"), "{e}");
        // Bad magic (labels passed as images).
        let e = parse_pair(&lab, "lab-as-img", &lab, "lab.idx")
            .unwrap_err()
            .to_string();
        assert!(e.contains("lab-as-img") && e.contains("magic"), "{e}");
        // Count mismatch.
        let mut short = lab[..8].to_vec();
        short[4..8].copy_from_slice(&0u32.to_be_bytes());
        let e = parse_pair(&img, "img", &short, "short-labels")
            .unwrap_err()
            .to_string();
        assert!(e.contains("short-labels"), "{e}");
        // Corrupt gzip.
        let mut gz = EMBEDDED_TEST_LABELS.to_vec();
        gz.truncate(40);
        let e = parse_pair(&img, "img", &gz, "lab.gz")
            .unwrap_err()
            .to_string();
        assert!(e.contains("lab.gz"), "{e}");
        // Bytes beyond the data: the count found, not called truncated.
        let mut long = img.clone();
        long.extend_from_slice(&[0; 7]);
        let e = parse_pair(&long, "long-img", &lab, "lab.idx")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("long-img") && e.contains(&format!("found {}", img.len() - 16 + 7)),
            "{e}"
        );
        assert!(!e.contains("truncated"), "{e}");
        // A header claiming 2³² − 1 images of 2³² − 1 × 2³² − 1 pixels (a
        // product beyond usize) is an error naming the file, not an abort.
        let mut huge = img[..16].to_vec();
        huge[4..16].copy_from_slice(&[0xff; 12]);
        let e = parse_pair(&huge, "huge-img", &lab, "lab.idx")
            .unwrap_err()
            .to_string();
        assert!(e.contains("huge-img"), "{e}");
        // Too short for a header; a truncated header.
        for (bytes, what) in [
            (&img[..3], "too short"),
            (&img[..10], "truncated IDX header"),
        ] {
            let e = parse_pair(bytes, "cut", &lab, "lab.idx")
                .unwrap_err()
                .to_string();
            assert!(e.contains("cut") && e.contains(what), "{e}");
        }
        // Missing folder.
        let e = load_dir(Path::new("/nonexistent-mnist"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("/nonexistent-mnist"), "{e}");
    }

    /// The raw and the gzip file of one set load the same (the oracle for
    /// the gzip path: the bytes decompressed by flate2 on their own, and
    /// the data after the 16-byte header read by hand); so do a folder
    /// holding the raw files and the in-memory bytes.
    #[test]
    fn raw_gzip_and_folder_load_the_same() {
        let img = raw(EMBEDDED_TEST_IMAGES);
        let lab = raw(EMBEDDED_TEST_LABELS);
        let from_raw = parse_pair(&img, "img", &lab, "lab").unwrap();
        let from_gz = parse_pair(EMBEDDED_TEST_IMAGES, "img", EMBEDDED_TEST_LABELS, "lab").unwrap();
        assert_eq!(from_raw.pixels, img[16..]);
        assert_eq!(from_raw.labels, lab[8..]);
        assert_eq!(from_gz.pixels, from_raw.pixels);
        assert_eq!(from_gz.labels, from_raw.labels);
        let dir = std::env::temp_dir().join(format!("bayesrg-mnist-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("t10k-images-idx3-ubyte"), &img).unwrap();
        std::fs::write(dir.join("t10k-labels-idx1-ubyte.gz"), EMBEDDED_TEST_LABELS).unwrap();
        let set = load_set(&dir, "t10k");
        std::fs::remove_dir_all(&dir).unwrap();
        let set = set.unwrap();
        assert_eq!(set.pixels, from_raw.pixels);
        assert_eq!(set.labels, from_raw.labels);
    }

    /// Full-set facts when the real files are present (`MNIST_DIR`, e.g.
    /// after `scripts/fetch-mnist.sh`): training mean 0.130660, test 0.132515.
    #[test]
    fn full_set_means_when_available() {
        let Ok(dir) = std::env::var("MNIST_DIR") else {
            return;
        };
        let d = load_dir(Path::new(&dir)).unwrap();
        assert_eq!(d.train.len(), 60_000);
        let m = |s: &Mnist| s.images().iter().sum::<f64>() / s.pixels.len() as f64;
        assert!((m(&d.train) - 0.130660).abs() < 5e-7);
        assert!((m(&d.test) - 0.132515).abs() < 5e-7);
    }
}
