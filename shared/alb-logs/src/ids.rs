//! Deterministic identities: the same object (same bucket, key and content version) always gets
//! the same document ids and output keys, so at-least-once delivery and Lambda retries overwrite
//! or are refused instead of duplicating.

/// 128-bit FNV-1a of the object's identity, as 32 hex digits.
///
/// The version part is the ETag (or version id) of the bytes read: a re-uploaded object with new
/// content gets new ids, a redelivered notification of the same content the same ones.
pub fn object_fingerprint(bucket: &str, key: &str, version: &str) -> String {
    const OFFSET: u128 = 0x6c62272e07bb014262b821756295c58d;
    const PRIME: u128 = 0x0000000001000000000000000000013B;
    let mut hash = OFFSET;
    for part in [bucket, key, version] {
        for &byte in part.as_bytes() {
            hash ^= u128::from(byte);
            hash = hash.wrapping_mul(PRIME);
        }
        // A separator no S3 name contains, so ("ab","c") and ("a","bc") differ.
        hash ^= 0xff;
        hash = hash.wrapping_mul(PRIME);
    }
    format!("{hash:032x}")
}

/// The search document id of line `line` (1-based) of the object.
pub fn document_id(fingerprint: &str, line: u64) -> String {
    format!("{fingerprint}-{line}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_are_stable_and_separate_their_parts() {
        let a = object_fingerprint("logs", "AWSLogs/x.log.gz", "etag1");
        assert_eq!(a, object_fingerprint("logs", "AWSLogs/x.log.gz", "etag1"));
        assert_eq!(a.len(), 32);
        assert_ne!(a, object_fingerprint("logs", "AWSLogs/x.log.gz", "etag2"));
        assert_ne!(
            object_fingerprint("ab", "c", ""),
            object_fingerprint("a", "bc", "")
        );
        assert_eq!(document_id("f00", 7), "f00-7");
    }
}
