//! Small column-building helpers.

use std::collections::HashMap;
use std::sync::Arc;

use arrow_array::types::Int32Type;
use arrow_array::{ArrayRef, DictionaryArray, Int32Array, StringArray};

/// A dictionary-encoded string column built row by row, with an optional per-id cache so that
/// a repeated value (a test's name) costs one vector lookup per row.
#[derive(Default)]
pub(crate) struct DictCol {
    keys: Vec<Option<i32>>,
    values: Vec<String>,
    map: HashMap<String, i32, std::hash::BuildHasherDefault<stdf_core::semantics::IntHasher>>,
    cache: Vec<i32>,
    /// per-id last raw bytes and their key, for values that usually repeat per id
    last: Vec<(i32, Vec<u8>)>,
}

impl DictCol {
    pub fn clear(&mut self) {
        self.keys.clear();
        self.values.clear();
        self.map.clear();
        self.cache.clear();
        self.last.clear();
    }
    #[inline]
    pub fn intern(&mut self, s: &str) -> i32 {
        if let Some(&k) = self.map.get(s) {
            return k;
        }
        let k = self.values.len() as i32;
        self.values.push(s.to_string());
        self.map.insert(s.to_string(), k);
        k
    }
    /// Push a value; a run of equal values costs one comparison each.
    #[inline]
    pub fn push(&mut self, s: Option<&str>) {
        let k = match s {
            None => None,
            Some(s) => match self.keys.last() {
                Some(Some(k)) if self.values[*k as usize] == s => Some(*k),
                _ => Some(self.intern(s)),
            },
        };
        self.keys.push(k);
    }
    /// Push the value for `id`, computing it with `f` only the first time in this batch.
    #[inline]
    pub fn push_cached<'s>(&mut self, id: usize, f: impl FnOnce() -> Option<&'s str>) {
        if let Some(&k) = self.cache.get(id) {
            if k != i32::MIN {
                self.keys.push(if k < 0 { None } else { Some(k) });
                return;
            }
        }
        let k = match f() {
            Some(s) => self.intern(s),
            None => -1,
        };
        if self.cache.len() <= id {
            self.cache.resize(id + 1, i32::MIN);
        }
        self.cache[id] = k;
        self.keys.push(if k < 0 { None } else { Some(k) });
    }
    /// Push text given as raw bytes, reusing the key when `id` saw the same bytes last time.
    #[inline]
    pub fn push_bytes_for(&mut self, id: usize, raw: &[u8], text: impl FnOnce() -> String) {
        if let Some((k, b)) = self.last.get(id) {
            if *k >= 0 && b.as_slice() == raw {
                self.keys.push(Some(*k));
                return;
            }
        }
        let k = self.intern(&text());
        if self.last.len() <= id {
            self.last.resize(id + 1, (-1, Vec::new()));
        }
        self.last[id] = (k, raw.to_vec());
        self.keys.push(Some(k));
    }

    pub fn finish(&mut self) -> ArrayRef {
        let keys = Int32Array::from(std::mem::take(&mut self.keys));
        let values = StringArray::from_iter_values(self.values.iter());
        self.clear();
        Arc::new(
            DictionaryArray::<Int32Type>::try_new(keys, Arc::new(values))
                .expect("keys index values"),
        )
    }
}
