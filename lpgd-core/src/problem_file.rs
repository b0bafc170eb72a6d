//! Problem files in the diffcp/SCS JSON layout, so the same instances run in diffcp and here.
//!
//! ```text
//! { "n": 10, "m": 27, "cone": {"z": 2, "l": 25, "q": [..], "s": [..], "ep": 0, "p": [..]},
//!   "A": {"shape": [m, n], "nnz": k, "indptr": [..], "rows": [..], "cols": [..], "vals": [..]},
//!   "P": null | {same layout, upper triangle},
//!   "instances": [{"b": [..], "c": [..], "dx": [..], "dy": [..]?, "ds": [..]?}, ..], ... }
//! ```
//!
//! A and P are shared by every instance (a layer with fixed structure and predicted data); each
//! instance has its own b, c and incoming gradient. The `family` field is kept; other top-level
//! fields (seed, meta, …) are skipped while parsing, without being stored.
//!
//! Reading is bounded: [`ProblemFile::read`] refuses files over [`ProblemFile::DEFAULT_MAX_BYTES`]
//! ([`ProblemFile::read_with_limit`] raises the bound), and every declared size (cone counts, rows,
//! columns) is checked against the data present before anything is allocated from it.

use crate::cone::{Cone, ConeKind};
use crate::csc::CscMatrix;
use crate::error::{check_len, InvalidInput};
use crate::family::conic::{ConicCotangent, ConicProblem};
use crate::limits::{checked_product, checked_sum};
use ndarray::Array1;
use serde::{Deserialize, Serialize};
use std::path::Path;
use thiserror::Error;

/// Why a problem file could not be read or written.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ProblemFileError {
    /// The file could not be read or written.
    #[error("cannot access the problem file: {0}")]
    Io(#[from] std::io::Error),
    /// The file is not JSON of the expected layout.
    #[error("malformed problem file: {0}")]
    Json(#[from] serde_json::Error),
    /// The shared data (A, P, cones, dimensions) is inconsistent.
    #[error("invalid problem data: {0}")]
    Invalid(#[from] InvalidInput),
    /// An instance's data is inconsistent with the shared data.
    #[error("instance {index}: {source}")]
    Instance {
        /// Position of the instance.
        index: usize,
        /// What is wrong.
        source: InvalidInput,
    },
    /// The file uses a cone this library does not support (dual exponential, dual power cones).
    #[error("unsupported cone in file: {0}")]
    UnsupportedCone(&'static str),
    /// The file is larger than the bound it was read with.
    #[error("the problem file is larger than {limit} bytes (raise the limit to read it)")]
    TooLarge {
        /// The bound, in bytes.
        limit: u64,
    },
    /// The problems cannot be written in one file (cones not in SCS order, or A, P or cones differ
    /// between instances).
    #[error("cannot write these problems as one file: {0}")]
    NotWritable(&'static str),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct RawCsc {
    shape: [usize; 2],
    nnz: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    order: Option<String>,
    indptr: Vec<usize>,
    rows: Vec<usize>,
    #[serde(default)]
    cols: Option<Vec<usize>>,
    vals: Vec<f64>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct RawCones {
    #[serde(default, skip_serializing_if = "is_zero")]
    z: usize,
    #[serde(default, skip_serializing_if = "is_zero")]
    l: usize,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    q: Vec<usize>,
    #[serde(default, skip_serializing_if = "is_zero")]
    ep: usize,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    p: Vec<f64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    s: Vec<usize>,
    #[serde(default, skip_serializing_if = "is_zero")]
    ed: usize,
}

fn is_zero(v: &usize) -> bool {
    *v == 0
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct RawInstance {
    b: Vec<f64>,
    c: Vec<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    dx: Option<Vec<f64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    dy: Option<Vec<f64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ds: Option<Vec<f64>>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct RawFile {
    n: usize,
    m: usize,
    cone: RawCones,
    #[serde(rename = "A")]
    a: RawCsc,
    #[serde(rename = "P", default)]
    p: Option<RawCsc>,
    instances: Vec<RawInstance>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    family: Option<String>,
}

/// One instance of a problem file: its data and its incoming gradient.
#[derive(Debug, Clone, PartialEq)]
pub struct FileInstance {
    /// Right-hand side.
    pub b: Array1<f64>,
    /// Linear cost.
    pub c: Array1<f64>,
    /// Gradient of the loss with respect to x (zero when absent).
    pub dx: Array1<f64>,
    /// Gradient of the loss with respect to y (zero when absent).
    pub dy: Array1<f64>,
    /// Gradient of the loss with respect to s (zero when absent).
    pub ds: Array1<f64>,
}

/// A problem file: shared structure (A, P, cones) and a list of instances.
///
/// ```
/// use lpgd_core::ProblemFile;
/// let text = r#"{"n": 1, "m": 2, "cone": {"l": 2}, "family": "tiny",
///     "A": {"shape": [2, 1], "nnz": 2, "indptr": [0, 2], "rows": [0, 1], "vals": [1.0, -1.0]},
///     "instances": [{"b": [1.0, 0.0], "c": [-1.0], "dx": [1.0]}]}"#;
/// let file = ProblemFile::from_json_str(text)?;
/// assert_eq!((file.len(), file.family()), (1, Some("tiny")));
/// let (problem, g) = (file.problem(0).unwrap(), file.cotangent(0).unwrap());
/// assert_eq!((problem.n(), problem.m(), g.dx[0]), (1, 2, 1.0));
/// // Round trip.
/// let again = ProblemFile::from_json_str(&file.to_json_string()?)?;
/// assert_eq!(again.problem(0), file.problem(0));
/// # Ok::<(), lpgd_core::ProblemFileError>(())
/// ```
#[derive(Debug, Clone)]
pub struct ProblemFile {
    /// Structure shared by every instance; its b and c are those of the first instance.
    base: ConicProblem,
    /// The instances (at least one).
    instances: Vec<FileInstance>,
    /// The `family` field (`lp_box`, `qp_socp`, …), written back unchanged.
    family: Option<String>,
}

fn csc_from_raw(field: &'static str, raw: &RawCsc) -> Result<CscMatrix, InvalidInput> {
    check_len(field, raw.rows.len(), raw.nnz)?;
    let shape = (raw.shape[0], raw.shape[1]);
    let pattern = (raw.indptr.clone(), raw.rows.clone());
    let m = CscMatrix::new_named(field, shape, pattern, raw.vals.clone())?;
    // The column of each triplet is redundant with indptr; when given, it must agree.
    if let Some(cols) = &raw.cols {
        check_len(field, cols.len(), raw.nnz)?;
        if m.colval() != *cols {
            return Err(InvalidInput::Sparse {
                field,
                issue: crate::error::SparseIssue::Colptr,
            });
        }
    }
    Ok(m)
}

fn csc_to_raw(m: &CscMatrix) -> RawCsc {
    RawCsc {
        shape: [m.nrows(), m.ncols()],
        nnz: m.nnz(),
        order: Some("column-major (CSC); rows/cols/vals are triplets".into()),
        indptr: m.colptr().to_vec(),
        rows: m.rowval().to_vec(),
        cols: Some(m.colval()),
        vals: m.values().to_vec(),
    }
}

/// The cones of a file, after checking that their declared sizes add up to `m` (with overflow
/// checks) so that nothing is materialised for counts the data does not back.
fn cones_from_raw(raw: &RawCones, m: usize) -> Result<Vec<Cone>, ProblemFileError> {
    let declared = [
        Ok(raw.z),
        Ok(raw.l),
        checked_sum("second-order cone rows", raw.q.iter().copied()),
        checked_sum(
            "positive semidefinite cone rows",
            raw.s
                .iter()
                .map(|&k| crate::cone::psd_rows(k).unwrap_or(usize::MAX)),
        ),
        checked_product("exponential cone rows", raw.ep, 3),
        checked_product("power cone rows", raw.p.len(), 3),
    ]
    .into_iter()
    .collect::<Result<Vec<usize>, InvalidInput>>()?;
    let cone_rows = checked_sum("cone rows", declared)?;
    if cone_rows != m {
        return Err(InvalidInput::ConeRows { cone_rows, rows: m }.into());
    }
    if raw.ed > 0 {
        return Err(ProblemFileError::UnsupportedCone("dual exponential (ed)"));
    }
    if raw.p.iter().any(|&a| a < 0.0) {
        return Err(ProblemFileError::UnsupportedCone("dual power (p < 0)"));
    }
    let mut cones = Vec::new();
    if raw.z > 0 {
        cones.push(Cone::Zero(raw.z));
    }
    if raw.l > 0 {
        cones.push(Cone::Nonnegative(raw.l));
    }
    cones.extend(raw.q.iter().map(|&k| Cone::SecondOrder(k)));
    cones.extend(raw.s.iter().map(|&k| Cone::Psd(k)));
    cones.extend(std::iter::repeat_n(Cone::Exponential, raw.ep));
    cones.extend(raw.p.iter().map(|&a| Cone::Power(a)));
    Ok(cones)
}

fn cones_to_raw(cones: &[Cone]) -> Result<RawCones, ProblemFileError> {
    let mut raw = RawCones::default();
    let mut last = ConeKind::Zero;
    for cone in cones {
        if cone.kind() < last {
            return Err(ProblemFileError::NotWritable(
                "cones are not in SCS order (z, l, q, s, ep, p)",
            ));
        }
        last = cone.kind();
        match *cone {
            Cone::Zero(k) => raw.z += k,
            Cone::Nonnegative(k) => raw.l += k,
            Cone::SecondOrder(k) => raw.q.push(k),
            Cone::Psd(k) => raw.s.push(k),
            Cone::Exponential => raw.ep += 1,
            Cone::Power(a) => raw.p.push(a),
        }
    }
    Ok(raw)
}

fn vec_or_zeros(v: &Option<Vec<f64>>, len: usize) -> Array1<f64> {
    v.as_ref()
        .map_or_else(|| Array1::zeros(len), |v| Array1::from(v.clone()))
}

impl ProblemFile {
    /// The bound [`ProblemFile::read`] puts on a file's size: 256 MiB.
    pub const DEFAULT_MAX_BYTES: u64 = 256 << 20;

    /// Parses a problem file from JSON text, validating every instance.
    pub fn from_json_str(text: &str) -> Result<Self, ProblemFileError> {
        let raw: RawFile = serde_json::from_str(text)?;
        let a = csc_from_raw("A", &raw.a)?;
        let p = raw.p.as_ref().map(|p| csc_from_raw("P", p)).transpose()?;
        check_len("A rows (m)", a.nrows(), raw.m)?;
        check_len("A columns (n)", a.ncols(), raw.n)?;
        let cones = cones_from_raw(&raw.cone, raw.m)?;
        let first = raw
            .instances
            .first()
            .ok_or(InvalidInput::Empty("the file's instance list"))?;
        let (first_b, first_c) = (Array1::from(first.b.clone()), Array1::from(first.c.clone()));
        let base = ConicProblem::new(p, a, first_b, first_c, cones)
            .map_err(|source| ProblemFileError::Instance { index: 0, source })?;
        let mut instances = Vec::with_capacity(raw.instances.len());
        for (index, inst) in raw.instances.iter().enumerate() {
            let fi = FileInstance {
                b: Array1::from(inst.b.clone()),
                c: Array1::from(inst.c.clone()),
                dx: vec_or_zeros(&inst.dx, raw.n),
                dy: vec_or_zeros(&inst.dy, raw.m),
                ds: vec_or_zeros(&inst.ds, raw.m),
            };
            let check = || -> Result<(), InvalidInput> {
                let problem = base.with_b(fi.b.clone())?.with_c(fi.c.clone())?;
                crate::Problem::check_cotangent(&problem, &Self::cotangent_of(&fi))
            };
            check().map_err(|source| ProblemFileError::Instance { index, source })?;
            instances.push(fi);
        }
        Ok(Self {
            base,
            instances,
            family: raw.family,
        })
    }

    /// Reads and parses a problem file of at most [`ProblemFile::DEFAULT_MAX_BYTES`].
    pub fn read(path: impl AsRef<Path>) -> Result<Self, ProblemFileError> {
        Self::read_with_limit(path, Self::DEFAULT_MAX_BYTES)
    }

    /// Reads and parses a problem file of at most `max_bytes` bytes; a larger file (or an endless
    /// stream such as `/dev/zero`) is [`ProblemFileError::TooLarge`] after reading `max_bytes + 1`.
    pub fn read_with_limit(
        path: impl AsRef<Path>,
        max_bytes: u64,
    ) -> Result<Self, ProblemFileError> {
        use std::io::Read;
        let mut text = String::new();
        std::fs::File::open(path)?
            .take(max_bytes.saturating_add(1))
            .read_to_string(&mut text)?;
        if text.len() as u64 > max_bytes {
            return Err(ProblemFileError::TooLarge { limit: max_bytes });
        }
        Self::from_json_str(&text)
    }

    /// A file holding `problems` (which must share A, P and cones, with cones in SCS order) and
    /// their incoming gradients.
    pub fn from_problems(
        problems: &[ConicProblem],
        cotangents: &[ConicCotangent],
    ) -> Result<Self, ProblemFileError> {
        let base = problems
            .first()
            .ok_or(ProblemFileError::NotWritable("no problems"))?
            .clone();
        if problems.len() != cotangents.len() {
            return Err(InvalidInput::BatchLength(problems.len(), cotangents.len()).into());
        }
        cones_to_raw(base.cones())?;
        let mut instances = Vec::with_capacity(problems.len());
        for (index, (p, g)) in problems.iter().zip(cotangents).enumerate() {
            if p.a() != base.a() || p.p() != base.p() || p.cones() != base.cones() {
                return Err(ProblemFileError::NotWritable(
                    "A, P or the cones differ between problems",
                ));
            }
            crate::Problem::check_cotangent(p, g)
                .map_err(|source| ProblemFileError::Instance { index, source })?;
            instances.push(FileInstance {
                b: p.b().clone(),
                c: p.c().clone(),
                dx: g.dx.clone(),
                dy: g.dy.clone(),
                ds: g.ds.clone(),
            });
        }
        Ok(Self {
            base,
            instances,
            family: None,
        })
    }

    /// The JSON text of the file.
    pub fn to_json_string(&self) -> Result<String, ProblemFileError> {
        let nonzero = |v: &Array1<f64>| v.iter().any(|&x| x != 0.0).then(|| v.to_vec());
        let raw = RawFile {
            n: self.base.n(),
            m: self.base.m(),
            cone: cones_to_raw(self.base.cones())?,
            a: csc_to_raw(self.base.a()),
            p: self.base.p().map(csc_to_raw),
            instances: self
                .instances
                .iter()
                .map(|i| RawInstance {
                    b: i.b.to_vec(),
                    c: i.c.to_vec(),
                    dx: Some(i.dx.to_vec()),
                    dy: nonzero(&i.dy),
                    ds: nonzero(&i.ds),
                })
                .collect(),
            family: self.family.clone(),
        };
        Ok(serde_json::to_string(&raw)?)
    }

    /// Writes the file as JSON.
    pub fn write(&self, path: impl AsRef<Path>) -> Result<(), ProblemFileError> {
        std::fs::write(path, self.to_json_string()?)?;
        Ok(())
    }

    /// Number of instances.
    pub fn len(&self) -> usize {
        self.instances.len()
    }

    /// Whether the file has no instances.
    pub fn is_empty(&self) -> bool {
        self.instances.is_empty()
    }

    /// The `family` field, if present (`lp_box`, `qp_socp`, …).
    pub fn family(&self) -> Option<&str> {
        self.family.as_deref()
    }

    /// The same file with its `family` field set.
    pub fn with_family(mut self, family: impl Into<String>) -> Self {
        self.family = Some(family.into());
        self
    }

    /// The instances, in file order.
    pub fn instances(&self) -> &[FileInstance] {
        &self.instances
    }

    /// The shared constraint matrix.
    pub fn a(&self) -> &CscMatrix {
        self.base.a()
    }

    /// The shared quadratic cost (upper triangle), if any.
    pub fn p(&self) -> Option<&CscMatrix> {
        self.base.p()
    }

    /// The problem of instance `index` (`None` past the end).
    pub fn problem(&self, index: usize) -> Option<ConicProblem> {
        let inst = self.instances.get(index)?;
        Some(
            self.base
                .with_b(inst.b.clone())
                .and_then(|p| p.with_c(inst.c.clone()))
                .expect("instances are validated when the file is read"),
        )
    }

    /// Every instance's problem.
    pub fn problems(&self) -> Vec<ConicProblem> {
        (0..self.len()).filter_map(|i| self.problem(i)).collect()
    }

    fn cotangent_of(inst: &FileInstance) -> ConicCotangent {
        ConicCotangent {
            dx: inst.dx.clone(),
            dy: inst.dy.clone(),
            ds: inst.ds.clone(),
        }
    }

    /// The incoming gradient of instance `index` (`None` past the end).
    pub fn cotangent(&self, index: usize) -> Option<ConicCotangent> {
        self.instances.get(index).map(Self::cotangent_of)
    }

    /// Every instance's incoming gradient.
    pub fn cotangents(&self) -> Vec<ConicCotangent> {
        self.instances.iter().map(Self::cotangent_of).collect()
    }
}
