//! The record-id order (`ks_producer::cursor::id_cmp`), which `sort_by`, the cursor and the
//! de-duplication rely on, is a total order on any three ids: reflexive, antisymmetric,
//! transitive (for `<` and `≤`), equal ids are equivalent to the same ids, and ids that compare
//! equal are interchangeable (each compares to every other id the same way).
//!
//! The input: three ids separated by `\n`; also each rotated through the others' bytes.

use std::cmp::Ordering::{self, Equal, Greater, Less};

use ks_producer::cursor::id_cmp;

use crate::util::Input;

pub fn check(data: &[u8]) {
    let mut input = Input::new(data);
    let a = String::from_utf8_lossy(input.until(b'\n')).into_owned();
    let b = String::from_utf8_lossy(input.until(b'\n')).into_owned();
    let c = String::from_utf8_lossy(input.rest()).into_owned();
    let ids = [a.as_str(), b.as_str(), c.as_str()];
    for x in ids {
        assert_eq!(id_cmp(x, x), Equal, "{x:?} is not equal to itself");
    }
    for x in ids {
        for y in ids {
            let xy = id_cmp(x, y);
            assert_eq!(xy, id_cmp(y, x).reverse(), "antisymmetry: {x:?} {y:?}");
            for z in ids {
                let (yz, xz) = (id_cmp(y, z), id_cmp(x, z));
                let fail = |law| format!("{law}: {x:?} {xy:?} {y:?} {yz:?} {z:?} but {xz:?}");
                if xy != Greater && yz != Greater {
                    assert_ne!(xz, Greater, "{}", fail("transitivity of ≤"));
                }
                if xy == Less && yz == Less {
                    assert_eq!(xz, Less, "{}", fail("transitivity of <"));
                }
                if xy == Equal {
                    assert_eq!(xz, yz, "{}", fail("equal ids compare alike"));
                }
            }
        }
    }
    let mut sorted = ids;
    sorted.sort_by(|x, y| id_cmp(x, y));
    assert!(
        sorted
            .windows(2)
            .all(|w| id_cmp(w[0], w[1]) != Ordering::Greater)
    );
}
