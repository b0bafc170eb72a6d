//! Guesses for warm forwards: a layer's last answers, kept for its next call.

use crate::error::InvalidInput;
use std::collections::HashMap;

/// The last answers of a layer, kept as guesses for its next call
/// ([`SolveSettings::forward_batch_from`](crate::SolveSettings::forward_batch_from)).
///
/// An item's guess is, in this order: its own last answer, when the caller names items by key
/// (a dataset index, so shuffled batches still find their item) and the key was seen; the last
/// answer at the same position of the batch (another item's, when keys changed: a nearby
/// problem more often than not); none. Answers of failed items are not kept.
///
/// ```
/// use lpgd_core::WarmStarts;
/// let mut store: WarmStarts<f64> = WarmStarts::new();
/// assert_eq!(store.guesses(2, None)?, vec![None, None]);
/// store.remember(vec![Some(1.0), None], Some(&[7, 8]))?;
/// // By key where known (7), else by position (item 1 had no answer, item 0 had 1.0).
/// assert_eq!(store.guesses(2, Some(&[9, 7]))?, vec![Some(&1.0), Some(&1.0)]);
/// assert_eq!(store.guesses(3, None)?, vec![Some(&1.0), None, None]);
/// assert!(store.guesses(2, Some(&[1])).is_err());
/// # Ok::<(), lpgd_core::InvalidInput>(())
/// ```
#[derive(Debug, Clone)]
pub struct WarmStarts<S> {
    by_position: Vec<Option<S>>,
    by_key: HashMap<u64, S>,
}

impl<S> Default for WarmStarts<S> {
    fn default() -> Self {
        Self {
            by_position: Vec::new(),
            by_key: HashMap::new(),
        }
    }
}

fn keys_fit(count: usize, keys: Option<&[u64]>) -> Result<(), InvalidInput> {
    match keys {
        Some(k) if k.len() != count => Err(InvalidInput::BatchLength(count, k.len())),
        _ => Ok(()),
    }
}

impl<S: Clone> WarmStarts<S> {
    /// An empty store: every guess is none.
    pub fn new() -> Self {
        Self::default()
    }

    /// One guess per item of a batch of `count` items named by `keys` (one per item) or by
    /// position (`None`).
    pub fn guesses(
        &self,
        count: usize,
        keys: Option<&[u64]>,
    ) -> Result<Vec<Option<&S>>, InvalidInput> {
        keys_fit(count, keys)?;
        Ok((0..count)
            .map(|i| {
                keys.and_then(|k| self.by_key.get(&k[i]))
                    .or_else(|| self.by_position.get(i).and_then(Option::as_ref))
            })
            .collect())
    }

    /// Keeps a batch's answers (`None` for a failed item) as the next call's guesses: by
    /// position, and by key when `keys` names the items. Keys stay until [`WarmStarts::clear`]:
    /// one answer per distinct key, so a dataset of K items keeps K answers.
    pub fn remember(
        &mut self,
        answers: Vec<Option<S>>,
        keys: Option<&[u64]>,
    ) -> Result<(), InvalidInput> {
        keys_fit(answers.len(), keys)?;
        if let Some(keys) = keys {
            for (key, answer) in keys.iter().zip(&answers) {
                if let Some(a) = answer {
                    self.by_key.insert(*key, a.clone());
                }
            }
        }
        self.by_position = answers;
        Ok(())
    }

    /// Forgets every answer.
    pub fn clear(&mut self) {
        self.by_position.clear();
        self.by_key.clear();
    }

    /// How many answers are kept (by position and by key).
    pub fn len(&self) -> usize {
        self.by_position.iter().flatten().count() + self.by_key.len()
    }

    /// Whether no answer is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
