//! Builds images for tests from bytes: layer tars, gzip, JSON with computed digests, laid
//! out as an OCI layout, an OCI archive or a legacy `docker save` archive.

use std::io::Write;
use std::path::Path;

use serde_json::{Value, json};

use crate::Digest;

/// One entry of a layer tar.
pub enum Item<'a> {
    File(&'a str, &'a [u8]),
    Dir(&'a str),
    Symlink(&'a str, &'a str),
    HardLink(&'a str, &'a str),
}

fn header(name: &str, size: usize, flag: u8, link: &str) -> [u8; 512] {
    let mut header = [0u8; 512];
    header[..name.len()].copy_from_slice(name.as_bytes());
    header[100..108].copy_from_slice(b"0000644\0");
    header[108..116].copy_from_slice(b"0000000\0");
    header[116..124].copy_from_slice(b"0000000\0");
    header[124..136].copy_from_slice(format!("{size:011o}\0").as_bytes());
    header[136..148].copy_from_slice(b"00000000000\0");
    header[148..156].copy_from_slice(b"        ");
    header[156] = flag;
    header[157..157 + link.len()].copy_from_slice(link.as_bytes());
    header[257..263].copy_from_slice(b"ustar\0");
    header[263..265].copy_from_slice(b"00");
    let sum: u32 = header.iter().map(|&b| u32::from(b)).sum();
    header[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    header
}

pub fn tar(items: &[Item<'_>]) -> Vec<u8> {
    let mut out = Vec::new();
    for item in items {
        let (name, data, flag, link): (&str, &[u8], u8, &str) = match item {
            Item::File(name, data) => (name, data, b'0', ""),
            Item::Dir(name) => (name, b"", b'5', ""),
            Item::Symlink(name, target) => (name, b"", b'2', target),
            Item::HardLink(name, target) => (name, b"", b'1', target),
        };
        out.extend(header(name, data.len(), flag, link));
        out.extend(data);
        out.resize(out.len().div_ceil(512) * 512, 0);
    }
    out.extend([0u8; 1024]);
    out
}

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).expect("in-memory write");
    encoder.finish().expect("in-memory write")
}

/// A zip as `torch.save` writes it: stored members, each one's CRC and sizes deferred to
/// a signed data descriptor, then the central directory. `members` are (name, content).
pub fn torch_zip(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for (name, content) in members {
        let mut crc = flate2::Crc::new();
        crc.update(content);
        let (crc, size) = (crc.sum(), content.len() as u32);
        let offset = out.len() as u32;
        out.extend(b"PK\x03\x04\x14\x00\x08\x00\x00\x00\x00\x00\x00\x00");
        out.extend([0u8; 12]);
        out.extend((name.len() as u16).to_le_bytes());
        out.extend(0u16.to_le_bytes());
        out.extend(name.as_bytes());
        out.extend(*content);
        out.extend(b"PK\x07\x08");
        out.extend(crc.to_le_bytes());
        out.extend(size.to_le_bytes());
        out.extend(size.to_le_bytes());
        central.extend(b"PK\x01\x02\x14\x00\x14\x00\x08\x00\x00\x00\x00\x00\x00\x00");
        central.extend(crc.to_le_bytes());
        central.extend(size.to_le_bytes());
        central.extend(size.to_le_bytes());
        central.extend((name.len() as u16).to_le_bytes());
        central.extend([0u8; 12]);
        central.extend(offset.to_le_bytes());
        central.extend(name.as_bytes());
    }
    let directory_at = out.len() as u32;
    out.extend(&central);
    out.extend(b"PK\x05\x06\x00\x00\x00\x00");
    out.extend((members.len() as u16).to_le_bytes());
    out.extend((members.len() as u16).to_le_bytes());
    out.extend((central.len() as u32).to_le_bytes());
    out.extend(directory_at.to_le_bytes());
    out.extend(0u16.to_le_bytes());
    out
}

pub fn digest(bytes: &[u8]) -> String {
    Digest::of(bytes).to_string()
}

/// What one image holds: its layer tars and its platform.
pub struct Spec {
    pub layers: Vec<Vec<u8>>,
    pub gzip: bool,
    pub platform: (&'static str, &'static str),
    pub user: &'static str,
    /// Replaces the config's `config` object (User, Env, …) when set.
    pub run_config: Option<Value>,
    /// Replaces the generated history (one `RUN step <n>` per layer) when set.
    pub history: Option<Vec<Value>>,
}

impl Spec {
    pub fn new(layers: Vec<Vec<u8>>) -> Spec {
        Spec {
            layers,
            gzip: true,
            platform: ("linux", "amd64"),
            user: "1000",
            run_config: None,
            history: None,
        }
    }

    pub fn config(&self) -> Vec<u8> {
        let diff_ids: Vec<String> = self.layers.iter().map(|layer| digest(layer)).collect();
        let history: Vec<Value> = self.history.clone().unwrap_or_else(|| {
            self.layers
                .iter()
                .enumerate()
                .map(|(i, _)| json!({"created_by": format!("RUN step {i}")}))
                .collect()
        });
        let run_config = self.run_config.clone().unwrap_or_else(|| {
            json!({"User": self.user, "Env": ["PATH=/usr/bin"], "Cmd": ["serve"],
                   "Labels": {"org.opencontainers.image.title": "test"}})
        });
        serde_json::to_vec(&json!({
            "architecture": self.platform.1,
            "os": self.platform.0,
            "config": run_config,
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
            "history": history,
        }))
        .expect("json")
    }
}

/// Blobs of an OCI layout, by digest.
#[derive(Default)]
pub struct Blobs(pub Vec<(String, Vec<u8>)>);

impl Blobs {
    pub fn add(&mut self, bytes: Vec<u8>) -> Value {
        let descriptor = json!({"digest": digest(&bytes), "size": bytes.len()});
        self.0.push((digest(&bytes), bytes));
        descriptor
    }

    /// Adds the spec's layers, config and manifest; returns the manifest's descriptor.
    pub fn add_image(&mut self, spec: &Spec) -> Value {
        let layer_type = if spec.gzip {
            "application/vnd.oci.image.layer.v1.tar+gzip"
        } else {
            "application/vnd.oci.image.layer.v1.tar"
        };
        let layers: Vec<Value> = spec
            .layers
            .iter()
            .map(|layer| {
                let blob = if spec.gzip {
                    gzip(layer)
                } else {
                    layer.clone()
                };
                let mut descriptor = self.add(blob);
                descriptor["mediaType"] = json!(layer_type);
                descriptor
            })
            .collect();
        let mut config = self.add(spec.config());
        config["mediaType"] = json!("application/vnd.oci.image.config.v1+json");
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": config,
            "layers": layers,
        });
        let mut descriptor = self.add(serde_json::to_vec(&manifest).expect("json"));
        descriptor["mediaType"] = json!("application/vnd.oci.image.manifest.v1+json");
        descriptor["platform"] = json!({"os": spec.platform.0, "architecture": spec.platform.1});
        descriptor
    }

    /// The files of an OCI layout whose index.json lists `manifests`.
    pub fn layout(&self, manifests: Vec<Value>) -> Vec<(String, Vec<u8>)> {
        let index = json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                           "manifests": manifests});
        let mut files = vec![
            (
                "oci-layout".to_owned(),
                br#"{"imageLayoutVersion":"1.0.0"}"#.to_vec(),
            ),
            (
                "index.json".to_owned(),
                serde_json::to_vec(&index).expect("json"),
            ),
        ];
        for (digest, bytes) in &self.0 {
            files.push((
                format!("blobs/sha256/{}", &digest["sha256:".len()..]),
                bytes.clone(),
            ));
        }
        files
    }
}

/// A single-image OCI layout.
pub fn oci_layout(spec: &Spec) -> Vec<(String, Vec<u8>)> {
    let mut blobs = Blobs::default();
    let manifest = blobs.add_image(spec);
    blobs.layout(vec![manifest])
}

/// A tar of `files` (names up to 100 bytes).
pub fn archive(files: &[(String, Vec<u8>)]) -> Vec<u8> {
    let items: Vec<Item<'_>> = files
        .iter()
        .map(|(name, bytes)| Item::File(name, bytes))
        .collect();
    tar(&items)
}

pub fn write_dir(files: &[(String, Vec<u8>)], dir: &Path) {
    for (name, bytes) in files {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().expect("has parent")).expect("mkdir");
        std::fs::write(path, bytes).expect("write");
    }
}

/// A legacy `docker save` archive: `<hex>.json` config, `<n>/layer.tar` layers.
pub fn docker_save(spec: &Spec) -> Vec<u8> {
    let config = spec.config();
    let config_name = format!("{}.json", &digest(&config)["sha256:".len()..]);
    let layer_names: Vec<String> = (0..spec.layers.len())
        .map(|i| format!("layer{i}/layer.tar"))
        .collect();
    let manifest = json!([{"Config": config_name, "RepoTags": ["example/model-server:1.0"], "Layers": layer_names}]);
    let mut files = vec![
        (
            "manifest.json".to_owned(),
            serde_json::to_vec(&manifest).expect("json"),
        ),
        (config_name, config),
    ];
    for (name, layer) in layer_names.into_iter().zip(&spec.layers) {
        files.push((name, layer.clone()));
    }
    archive(&files)
}
