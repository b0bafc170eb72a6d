//! Warcraft-like terrain maps: small RGB images of a `k × k` grid of terrain tiles, the true cost
//! of every cell (set by its terrain) and the cheapest 8-neighbour path from the top-left to the
//! bottom-right cell ([`VertexGridShortestPath`]). A network sees only the image and must learn the
//! cell costs well enough that the path it induces is optimal under the true costs — the task of
//! the blackbox-backpropagation paper's Warcraft experiment, generated here instead of downloaded.
//!
//! Every tile is drawn from its terrain's texture (a base colour and a pattern — mottled grass,
//! striped sand, tree canopies, waves, mountain peaks) at a random phase, under a per-map
//! brightness factor and per-pixel Gaussian noise. The terrain layout is a Voronoi partition of the
//! grid around a few random seeds, with single cells flipped at random, so maps have regions and
//! clutter. Everything is drawn from one seeded [`RandomState`]: the same seed gives the same maps.
//!
//! ```
//! use lpgd_combinatorial::terrain::{terrain_maps, TerrainConfig};
//! let config = TerrainConfig { grid: 6, ..TerrainConfig::default() };
//! let maps = terrain_maps(4, &config, 7)?;
//! assert_eq!(maps.images.dim(), (4, 3, 48, 48));
//! assert_eq!(maps.costs.dim(), (4, 36));
//! // Every path starts top-left and ends bottom-right.
//! assert!(maps.paths.column(0).iter().all(|&v| v == 1.0));
//! assert!(maps.paths.column(35).iter().all(|&v| v == 1.0));
//! # Ok::<(), lpgd_core::InvalidInput>(())
//! ```

use crate::warcraft::VertexGridShortestPath;
use crate::RandomState;
use lpgd_core::InvalidInput;
use ndarray::{Array2, Array4};
use std::f64::consts::TAU;

/// A terrain type; its cost is the one the Warcraft dataset uses for a comparable tile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Terrain {
    /// Open grass, the cheapest.
    Grass,
    /// Sand or road.
    Sand,
    /// Forest.
    Forest,
    /// Water (wading is slow).
    Water,
    /// Mountains, the dearest.
    Mountain,
}

impl Terrain {
    /// All terrains, in the order of [`Terrain::index`].
    pub const ALL: [Terrain; 5] = [
        Terrain::Grass,
        Terrain::Sand,
        Terrain::Forest,
        Terrain::Water,
        Terrain::Mountain,
    ];

    /// The cost of crossing a cell of this terrain.
    pub fn cost(self) -> f64 {
        match self {
            Terrain::Grass => 0.8,
            Terrain::Sand => 1.2,
            Terrain::Forest => 5.3,
            Terrain::Water => 7.7,
            Terrain::Mountain => 9.2,
        }
    }

    /// Position in [`Terrain::ALL`].
    pub fn index(self) -> usize {
        Terrain::ALL.iter().position(|&t| t == self).unwrap_or(0)
    }

    /// Relative frequency with which a region is given this terrain.
    fn weight(self) -> f64 {
        match self {
            Terrain::Grass => 0.35,
            Terrain::Sand => 0.15,
            Terrain::Forest => 0.2,
            Terrain::Water => 0.15,
            Terrain::Mountain => 0.15,
        }
    }

    /// The noiseless colour at position `(u, v)` ∈ [0, 1)² of a tile whose pattern is shifted by
    /// `phase` ∈ [0, 1).
    pub fn texture(self, u: f64, v: f64, phase: f64) -> [f64; 3] {
        let wave = |f: f64| (TAU * f).sin();
        match self {
            Terrain::Grass => {
                let m = 0.07 * wave(3.0 * u + phase) * wave(3.0 * v + phase);
                [0.30 + m, 0.62 + m, 0.22 + m]
            }
            Terrain::Sand => {
                let stripe = if wave(2.0 * v + phase) > 0.0 {
                    0.07
                } else {
                    -0.07
                };
                [0.80 + stripe, 0.70 + stripe, 0.45 + stripe]
            }
            Terrain::Forest => {
                // A canopy: a lighter disc whose centre moves with the phase.
                let (cu, cv) = (0.35 + 0.3 * phase, 0.65 - 0.3 * phase);
                if (u - cu).powi(2) + (v - cv).powi(2) < 0.09 {
                    [0.16, 0.48, 0.15]
                } else {
                    [0.08, 0.28, 0.10]
                }
            }
            Terrain::Water => {
                let w = 0.1 * wave(2.0 * (u + v) + phase);
                [0.15 + w, 0.35 + w, 0.75 + w]
            }
            Terrain::Mountain => {
                // A light peak: the triangle under the apex (0.5, 0.15).
                let apex = 0.4 + 0.2 * phase;
                if v > 0.15 && (u - apex).abs() < 0.5 * (v - 0.15) {
                    [0.82, 0.80, 0.82]
                } else {
                    [0.45, 0.42, 0.40]
                }
            }
        }
    }
}

/// Sizes and noise of [`terrain_maps`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TerrainConfig {
    /// Cells per side (the Warcraft dataset has 12, 18, 24, 30).
    pub grid: usize,
    /// Pixels per cell side (Warcraft: 8, so a 12 × 12 map is a 96 × 96 image).
    pub tile: usize,
    /// Standard deviation of the per-pixel Gaussian noise (colours are in [0, 1]).
    pub noise: f64,
    /// Half-width of the per-map brightness factor, drawn from `[1 − b, 1 + b]`.
    pub brightness: f64,
    /// Number of Voronoi regions the terrain layout is made of.
    pub regions: usize,
    /// Probability that a cell gets a random terrain instead of its region's.
    pub clutter: f64,
}

impl Default for TerrainConfig {
    fn default() -> Self {
        Self {
            grid: 12,
            tile: 8,
            noise: 0.1,
            brightness: 0.15,
            regions: 8,
            clutter: 0.15,
        }
    }
}

/// A set of generated maps.
#[derive(Debug, Clone)]
pub struct TerrainMaps {
    /// Images `[n, 3, grid·tile, grid·tile]`, RGB in [0, 1], channel-first.
    pub images: Array4<f32>,
    /// The terrain index ([`Terrain::index`]) of every cell, `[n, grid²]`, row-major.
    pub terrain: Array2<u8>,
    /// True cell costs `[n, grid²]`.
    pub costs: Array2<f64>,
    /// The optimal path under the true costs, `[n, grid²]`, 1 on the cells it visits.
    pub paths: Array2<f64>,
    /// The configuration the maps were drawn with.
    pub config: TerrainConfig,
}

/// Draws a terrain from the region weights.
fn draw_terrain(rng: &mut RandomState) -> Terrain {
    let total: f64 = Terrain::ALL.iter().map(|t| t.weight()).sum();
    let mut r = rng.next_double() * total;
    for t in Terrain::ALL {
        r -= t.weight();
        if r < 0.0 {
            return t;
        }
    }
    Terrain::Grass
}

/// Generates `n` maps with `seed`. Errors if a size is zero or a noise parameter is negative or
/// not finite, or `brightness ≥ 1` or `clutter ∉ [0, 1]`.
pub fn terrain_maps(
    n: usize,
    config: &TerrainConfig,
    seed: u32,
) -> Result<TerrainMaps, InvalidInput> {
    let bad = |field: &'static str, reason: &'static str| InvalidInput::Value {
        field,
        index: 0,
        reason,
    };
    if config.grid == 0 || config.tile == 0 || config.regions == 0 {
        return Err(bad("grid/tile/regions", "must be at least 1"));
    }
    if !(config.noise.is_finite() && config.noise >= 0.0) {
        return Err(bad("noise", "must be finite and nonnegative"));
    }
    if !(config.brightness.is_finite() && (0.0..1.0).contains(&config.brightness)) {
        return Err(bad("brightness", "must lie in [0, 1)"));
    }
    if !(0.0..=1.0).contains(&config.clutter) {
        return Err(bad("clutter", "must lie in [0, 1]"));
    }
    let (k, t) = (config.grid, config.tile);
    let cells = k * k;
    let px = k * t;
    let mut rng = RandomState::new(seed);
    let sp = VertexGridShortestPath::new(k, k)?;
    let mut images = Array4::<f32>::zeros((n, 3, px, px));
    let mut terrain = Array2::<u8>::zeros((n, cells));
    let mut costs = Array2::<f64>::zeros((n, cells));
    let mut paths = Array2::<f64>::zeros((n, cells));
    for m in 0..n {
        // Layout: nearest of a few seeds, then clutter.
        let seeds: Vec<(f64, f64, Terrain)> = (0..config.regions)
            .map(|_| {
                let (r, c) = (rng.uniform(0.0, k as f64), rng.uniform(0.0, k as f64));
                (r, c, draw_terrain(&mut rng))
            })
            .collect();
        let mut layout = Vec::with_capacity(cells);
        for cell in 0..cells {
            let (r, c) = ((cell / k) as f64 + 0.5, (cell % k) as f64 + 0.5);
            let nearest = seeds
                .iter()
                .min_by(|a, b| {
                    let da = (a.0 - r).powi(2) + (a.1 - c).powi(2);
                    let db = (b.0 - r).powi(2) + (b.1 - c).powi(2);
                    da.total_cmp(&db)
                })
                .map_or(Terrain::Grass, |s| s.2);
            let kind = if rng.next_double() < config.clutter {
                Terrain::ALL[rng.randint(0, Terrain::ALL.len() as i64) as usize]
            } else {
                nearest
            };
            layout.push(kind);
            terrain[[m, cell]] = kind.index() as u8;
            costs[[m, cell]] = kind.cost();
        }
        // Pixels.
        let light = rng.uniform(1.0 - config.brightness, 1.0 + config.brightness);
        for (cell, kind) in layout.iter().enumerate() {
            let phase = rng.next_double();
            let (r0, c0) = ((cell / k) * t, (cell % k) * t);
            for i in 0..t {
                for j in 0..t {
                    let colour = kind.texture(
                        (j as f64 + 0.5) / t as f64,
                        (i as f64 + 0.5) / t as f64,
                        phase,
                    );
                    for (ch, value) in colour.iter().enumerate() {
                        let v = value * light + config.noise * rng.standard_normal();
                        images[[m, ch, r0 + i, c0 + j]] = v.clamp(0.0, 1.0) as f32;
                    }
                }
            }
        }
        let path = sp
            .path(costs.row(m).as_slice().expect("row-major"))
            .expect("generated terrain costs are finite and positive");
        paths.row_mut(m).assign(&path);
    }
    Ok(TerrainMaps {
        images,
        terrain,
        costs,
        paths,
        config: *config,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use lpgd_core::{CombinatorialProblem, Oracle};

    #[test]
    fn same_seed_same_maps_and_paths_are_optimal() {
        let config = TerrainConfig {
            grid: 5,
            ..TerrainConfig::default()
        };
        let a = terrain_maps(6, &config, 3).unwrap();
        let b = terrain_maps(6, &config, 3).unwrap();
        let c = terrain_maps(6, &config, 4).unwrap();
        assert_eq!(a.images, b.images);
        assert_eq!(a.costs, b.costs);
        assert_ne!(a.images, c.images);
        let mut sp = VertexGridShortestPath::new(5, 5).unwrap();
        for m in 0..6 {
            let w = a.costs.row(m).to_owned();
            let y = sp
                .solve(&CombinatorialProblem::new(w.clone()).unwrap(), None)
                .unwrap();
            assert_eq!(y, a.paths.row(m));
            // Costs follow the terrain.
            for (cell, &kind) in a.terrain.row(m).iter().enumerate() {
                assert_eq!(w[cell], Terrain::ALL[kind as usize].cost());
            }
        }
        assert!(a.images.iter().all(|v| (0.0..=1.0).contains(v)));
    }

    #[test]
    fn terrains_are_told_apart_by_mean_colour() {
        // Without noise, the mean colour of each terrain's tiles is distinct: the task is learnable.
        let config = TerrainConfig {
            grid: 8,
            noise: 0.0,
            brightness: 0.0,
            ..TerrainConfig::default()
        };
        let maps = terrain_maps(20, &config, 1).unwrap();
        let mut sums = [[0.0f64; 3]; 5];
        let mut counts = [0usize; 5];
        let t = config.tile;
        for m in 0..20 {
            for cell in 0..64 {
                let kind = maps.terrain[[m, cell]] as usize;
                counts[kind] += 1;
                let (r0, c0) = ((cell / 8) * t, (cell % 8) * t);
                for (ch, sum) in sums[kind].iter_mut().enumerate() {
                    for i in 0..t {
                        for j in 0..t {
                            *sum += f64::from(maps.images[[m, ch, r0 + i, c0 + j]]);
                        }
                    }
                }
            }
        }
        assert!(
            counts.iter().all(|&c| c > 0),
            "every terrain occurs: {counts:?}"
        );
        let means: Vec<[f64; 3]> = (0..5)
            .map(|k| sums[k].map(|s| s / (counts[k] * t * t) as f64))
            .collect();
        for a in 0..5 {
            for b in a + 1..5 {
                let d: f64 = (0..3).map(|ch| (means[a][ch] - means[b][ch]).abs()).sum();
                assert!(d > 0.1, "terrains {a} and {b} look alike: {d}");
            }
        }
    }

    #[test]
    fn bad_configs_are_errors() {
        for config in [
            TerrainConfig {
                grid: 0,
                ..TerrainConfig::default()
            },
            TerrainConfig {
                noise: f64::NAN,
                ..TerrainConfig::default()
            },
            TerrainConfig {
                brightness: 1.0,
                ..TerrainConfig::default()
            },
            TerrainConfig {
                clutter: 2.0,
                ..TerrainConfig::default()
            },
        ] {
            assert!(terrain_maps(1, &config, 0).is_err());
        }
    }
}
