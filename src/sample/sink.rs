//! Row sinks: one streaming writer per output file, in CSV, NDJSON or Parquet.
//!
//! The generator produces rows one at a time as `&[Option<&str>]` and never holds a table in
//! memory; each sink turns those rows into its format with bounded buffering. Files are written
//! under a temporary name and renamed into place on success, so an interrupted run never leaves
//! a truncated file that looks complete.

use std::cell::RefCell;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use polars::io::parquet::write::BatchedWriter;
use polars::prelude::{
    Column, DataFrame, DataType, IntoColumn, ParquetCompression, ParquetWriter, PlSmallStr, Schema,
    StringChunkedBuilder,
};

use super::{SampleError, SampleFormat};

/// Rows per Parquet row group: polars' own default, and small enough (a few hundred MB of
/// strings at most) that memory stays bounded however many events are generated.
const PARQUET_BATCH_ROWS: usize = 512 * 512;

const IO_BUFFER: usize = 1 << 20;

pub(crate) struct RowSink {
    path: PathBuf,
    tmp_path: PathBuf,
    kind: Kind,
}

enum Kind {
    Csv(Box<csv::Writer<BufWriter<File>>>),
    Ndjson {
        out: BufWriter<File>,
        /// `"column":` per column, escaped once up front.
        keys: Vec<Vec<u8>>,
        line: Vec<u8>,
    },
    Parquet(Box<ParquetSink>),
}

struct ParquetSink {
    columns: &'static [&'static str],
    builders: Vec<StringChunkedBuilder>,
    rows: usize,
    writer: BatchedWriter<SharedFile>,
    file: Rc<RefCell<BufWriter<File>>>,
}

/// The Parquet writer owns its `Write` and never gives it back, but the buffered file must be
/// flushed (with errors reported) after the footer is written; sharing the buffer lets us do so.
struct SharedFile(Rc<RefCell<BufWriter<File>>>);

impl Write for SharedFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.borrow_mut().write(buf)
    }
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.0.borrow_mut().write_all(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0.borrow_mut().flush()
    }
}

impl RowSink {
    pub(crate) fn create(
        path: PathBuf,
        format: SampleFormat,
        columns: &'static [&'static str],
    ) -> Result<Self, SampleError> {
        let tmp_path = tmp_name(&path);
        let io_err = |source| SampleError::Io {
            path: path.clone(),
            source,
        };
        let file = BufWriter::with_capacity(IO_BUFFER, File::create(&tmp_path).map_err(io_err)?);
        let kind = match format {
            SampleFormat::Csv => {
                // The csv crate's defaults are what the contract asks for: RFC 4180 quoting
                // only where needed, and LF record terminators.
                let mut w = csv::WriterBuilder::new().from_writer(file);
                w.write_record(columns).map_err(|e| io_err(e.into()))?;
                Kind::Csv(Box::new(w))
            }
            SampleFormat::Ndjson => {
                let mut keys = Vec::with_capacity(columns.len());
                for (i, c) in columns.iter().enumerate() {
                    let mut k = Vec::new();
                    k.push(if i == 0 { b'{' } else { b',' });
                    serde_json::to_writer(&mut k, c).map_err(|e| io_err(e.into()))?;
                    k.push(b':');
                    keys.push(k);
                }
                Kind::Ndjson {
                    out: file,
                    keys,
                    line: Vec::with_capacity(1024),
                }
            }
            SampleFormat::Parquet => {
                let schema: Schema = columns
                    .iter()
                    .map(|c| (PlSmallStr::from_static(c), DataType::String))
                    .collect();
                let file = Rc::new(RefCell::new(file));
                let writer = ParquetWriter::new(SharedFile(file.clone()))
                    .with_compression(ParquetCompression::Zstd(None))
                    .batched(&schema)
                    .map_err(|source| SampleError::Polars {
                        path: path.clone(),
                        source,
                    })?;
                Kind::Parquet(Box::new(ParquetSink {
                    columns,
                    builders: new_builders(columns),
                    rows: 0,
                    writer,
                    file,
                }))
            }
        };
        Ok(RowSink {
            path,
            tmp_path,
            kind,
        })
    }

    pub(crate) fn write_row(&mut self, row: &[Option<&str>]) -> Result<(), SampleError> {
        match &mut self.kind {
            Kind::Csv(w) => w
                .write_record(row.iter().map(|v| v.unwrap_or("")))
                .map_err(|e| SampleError::Io {
                    path: self.path.clone(),
                    source: e.into(),
                }),
            Kind::Ndjson { out, keys, line } => {
                line.clear();
                for (key, value) in keys.iter().zip(row) {
                    line.extend_from_slice(key);
                    match value {
                        // Almost no value needs escaping; copying those directly is several
                        // times faster than serde_json in a dev build.
                        Some(v) if !v.bytes().any(|b| b == b'"' || b == b'\\' || b < 0x20) => {
                            line.push(b'"');
                            line.extend_from_slice(v.as_bytes());
                            line.push(b'"');
                        }
                        // Writing into a Vec cannot fail.
                        Some(v) => {
                            let _ = serde_json::to_writer(&mut *line, v);
                        }
                        None => line.extend_from_slice(b"null"),
                    }
                }
                line.extend_from_slice(b"}\n");
                out.write_all(line).map_err(|source| SampleError::Io {
                    path: self.path.clone(),
                    source,
                })
            }
            Kind::Parquet(p) => {
                for (b, value) in p.builders.iter_mut().zip(row) {
                    match value {
                        Some(v) => b.append_value(v),
                        None => b.append_null(),
                    }
                }
                p.rows += 1;
                if p.rows >= PARQUET_BATCH_ROWS {
                    p.flush_batch(&self.path)?;
                }
                Ok(())
            }
        }
    }

    /// Flushes everything, then moves the file into its final place.
    pub(crate) fn finish(self) -> Result<PathBuf, SampleError> {
        let path = self.path;
        let io_err = |source| SampleError::Io {
            path: path.clone(),
            source,
        };
        let file = match self.kind {
            Kind::Csv(w) => w.into_inner().map_err(|e| io_err(e.into_error()))?,
            Kind::Ndjson { out, .. } => out,
            Kind::Parquet(mut p) => {
                // A file with no rows still gets its schema, so readers see the columns.
                if p.rows > 0 {
                    p.flush_batch(&path)?;
                }
                p.writer.finish().map_err(|source| SampleError::Polars {
                    path: path.clone(),
                    source,
                })?;
                let ParquetSink { writer, file, .. } = *p;
                drop(writer);
                Rc::try_unwrap(file)
                    .map_err(|_| io_err(io::Error::other("parquet writer still holds the file")))?
                    .into_inner()
            }
        };
        let file = file.into_inner().map_err(|e| io_err(e.into_error()))?;
        file.sync_all().map_err(io_err)?;
        drop(file);
        std::fs::rename(&self.tmp_path, &path).map_err(io_err)?;
        Ok(path)
    }
}

impl ParquetSink {
    fn flush_batch(&mut self, path: &Path) -> Result<(), SampleError> {
        let builders = std::mem::replace(&mut self.builders, new_builders(self.columns));
        let columns: Vec<Column> = builders
            .into_iter()
            .map(|b| b.finish().into_column())
            .collect();
        let polars_err = |source| SampleError::Polars {
            path: path.to_path_buf(),
            source,
        };
        let df = DataFrame::new(self.rows, columns).map_err(polars_err)?;
        self.writer.write_batch(&df).map_err(polars_err)?;
        self.rows = 0;
        Ok(())
    }
}

fn new_builders(columns: &[&'static str]) -> Vec<StringChunkedBuilder> {
    columns
        .iter()
        .map(|c| StringChunkedBuilder::new(PlSmallStr::from_static(c), PARQUET_BATCH_ROWS))
        .collect()
}

fn tmp_name(path: &Path) -> PathBuf {
    let mut name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".tmp");
    path.with_file_name(name)
}
