use std::fmt;

use crate::error::{ImageError, Result};

/// An image platform, `os/architecture[/variant]` as `--platform` takes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Platform {
    pub os: String,
    pub architecture: String,
    pub variant: Option<String>,
}

impl Platform {
    pub fn parse(text: &str) -> Result<Platform> {
        let parts: Vec<&str> = text.split('/').collect();
        let bad = || ImageError::BadPlatform(crate::digest::shorten(text));
        match parts.as_slice() {
            [os, arch] | [os, arch, _] if !os.is_empty() && !arch.is_empty() => Ok(Platform {
                os: (*os).to_owned(),
                architecture: (*arch).to_owned(),
                variant: parts
                    .get(2)
                    .filter(|variant| !variant.is_empty())
                    .map(|variant| (*variant).to_owned()),
            }),
            _ => Err(bad()),
        }
    }

    /// Whether an image of platform `self` satisfies a request for `wanted`. A request
    /// without variant takes any; arm64 images usually omit their implied `v8`.
    pub fn satisfies(&self, wanted: &Platform) -> bool {
        let variant_ok = match (&wanted.variant, &self.variant) {
            (None, _) => true,
            (Some(want), Some(have)) => want == have,
            (Some(want), None) => self.architecture == "arm64" && want == "v8",
        };
        self.os == wanted.os && self.architecture == wanted.architecture && variant_ok
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(variant) = &self.variant {
            write!(f, "/{variant}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_matches_platforms() {
        let arm = Platform::parse("linux/arm/v7").ok();
        assert_eq!(
            arm.as_ref().map(ToString::to_string).as_deref(),
            Some("linux/arm/v7")
        );
        assert!(Platform::parse("linux").is_err());
        assert!(Platform::parse("linux//v7").is_err());
        assert!(Platform::parse("a/b/c/d").is_err());
        let arm64 = Platform::parse("linux/arm64").ok();
        let arm64_v8 = Platform::parse("linux/arm64/v8").ok();
        let (Some(arm), Some(arm64), Some(arm64_v8)) = (arm, arm64, arm64_v8) else {
            panic!("valid platforms did not parse");
        };
        assert!(arm64.satisfies(&arm64_v8));
        assert!(arm64_v8.satisfies(&arm64));
        assert!(!arm.satisfies(&arm64));
        let arm_v6 = Platform {
            variant: Some("v6".to_owned()),
            ..arm.clone()
        };
        assert!(!arm_v6.satisfies(&arm));
    }
}
