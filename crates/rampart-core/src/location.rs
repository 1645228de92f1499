use std::fmt;

use serde::Serialize;

/// Where a finding is: the input file, the path inside containers, and a byte offset or
/// line where known.
///
/// Displayed as `model.zip!/archive/data.pkl@1234` (offset) or `main.tf:12` (line);
/// nested containers chain with `!/`: `bundle.tar!/model.pt!/archive/data.pkl`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize)]
pub struct Location {
    /// The file as the user named it (or as found under a directory they named).
    pub path: String,
    /// Member names inside containers, outermost first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<String>,
    /// Byte offset inside the innermost member (or the file when `members` is empty).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
    /// 1-based line, for text formats.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    /// 1-based column, for text formats.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<u32>,
    /// The logical object inside the file the finding is about: an IaC resource address
    /// (`aws_s3_bucket.data_lake`), a Kubernetes object (`Deployment/trainer`), a workflow
    /// job, a notebook cell (`cell 4 output`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
}

impl Location {
    pub fn file(path: impl Into<String>) -> Self {
        Location {
            path: path.into(),
            ..Location::default()
        }
    }

    /// The location of a member of the container at `self`. Offsets and lines do not carry
    /// over: they are relative to the new member.
    pub fn member(&self, name: impl Into<String>) -> Self {
        let mut members = self.members.clone();
        members.push(name.into());
        Location {
            path: self.path.clone(),
            members,
            ..Location::default()
        }
    }

    /// A byte offset relative to `self`: when `self` already has an offset (a sub-slice
    /// such as the pickle after a NumPy header), the two add up.
    pub fn at(&self, relative: u64) -> Self {
        Location {
            offset: Some(self.offset.unwrap_or(0).saturating_add(relative)),
            ..self.clone()
        }
    }

    pub fn at_line(&self, line: u32, column: Option<u32>) -> Self {
        Location {
            line: Some(line),
            column,
            ..self.clone()
        }
    }

    pub fn with_resource(&self, resource: impl Into<String>) -> Self {
        Location {
            resource: Some(resource.into()),
            ..self.clone()
        }
    }

    /// The innermost file name (member or path): what extension hints look at.
    pub fn name(&self) -> &str {
        self.members
            .last()
            .map(String::as_str)
            .unwrap_or(&self.path)
    }

    /// How deep inside containers this is: 0 for a file on disk.
    pub fn depth(&self) -> usize {
        self.members.len()
    }

    /// `path!/member!/member`, without offset or line.
    pub fn container_path(&self) -> String {
        let mut out = self.path.clone();
        for member in &self.members {
            out.push_str("!/");
            out.push_str(member);
        }
        out
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.container_path())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(column) = self.column {
                write!(f, ":{column}")?;
            }
        } else if let Some(offset) = self.offset {
            write!(f, "@{offset}")?;
        }
        if let Some(resource) = &self.resource {
            write!(f, " ({resource})")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_nested_members_and_offsets() {
        let loc = Location::file("model.zip")
            .member("archive/data.pkl")
            .at(10)
            .at(5);
        assert_eq!(loc.to_string(), "model.zip!/archive/data.pkl@15");
        assert_eq!(loc.name(), "archive/data.pkl");
        let line = Location::file("main.tf").at_line(12, Some(3));
        assert_eq!(line.to_string(), "main.tf:12:3");
        let resource = line.with_resource("aws_s3_bucket.data");
        assert_eq!(resource.to_string(), "main.tf:12:3 (aws_s3_bucket.data)");
    }
}
