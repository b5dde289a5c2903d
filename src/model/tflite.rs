//! [`Classifier`] backed by a `.tflite` model on the LiteRT runtime.

use std::borrow::Cow;
use std::fmt;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use image::RgbImage;
use serde::Serialize;

use super::bundle::ModelBundle;
use super::calibration::{ActiveCalibration, CalibrationError};
use super::classifier::{CellAnswer, Classifier, ClassifyError, Provenance};
use super::error::ModelError;
use super::gate::Gate;
use super::illumination::{self, Illumination};
use super::litert::{CompiledModel, DType, Model, Quantization, Runtime};
use super::metadata::{self, OutputKind};
use super::preprocess::{self, Preprocessing, Preprocessor};
use super::views;

/// How a [`TfliteClassifier`] runs its model.
#[derive(Debug, Clone, Default)]
pub struct ClassifierOptions {
    /// Inference threads; `None` uses every core.
    pub threads: Option<NonZeroUsize>,
    /// Orientation views averaged per classification (1, 2, 4 or 8; see
    /// [`super::views`]); `None` takes the bundle's ([`ModelBundle::views`]).
    pub views: Option<NonZeroUsize>,
}

/// What the loaded model is, for `--version`, the boot screen and logs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelInfo {
    /// The model file.
    pub path: PathBuf,
    /// Name from the metadata, else the file stem.
    pub name: String,
    /// Version from the metadata, if any.
    pub version: Option<String>,
    /// Input width.
    pub input_width: u32,
    /// Input height.
    pub input_height: u32,
    /// Input element type (`"float32"`, `"int8"`, `"uint8"`).
    pub input_dtype: String,
    /// Output element type.
    pub output_dtype: String,
    /// Number of classes.
    pub classes: usize,
    /// Inference threads.
    pub threads: usize,
    /// Orientation views averaged per classification (one model run each).
    pub views: usize,
    /// Whether `metadata.json` was found and used.
    pub has_metadata: bool,
    /// Values of the embedding output, for a model that exports it (and can be
    /// recalibrated).
    pub embedding_size: Option<usize>,
    /// The preprocessing applied.
    pub preprocessing: Preprocessing,
    /// The runtime library in use.
    pub library: PathBuf,
}

impl fmt::Display for ModelInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.name)?;
        if let Some(v) = &self.version {
            write!(f, " {v}")?;
        }
        write!(
            f,
            " ({}x{} {}, {} classes, {} thread{}",
            self.input_width,
            self.input_height,
            self.input_dtype,
            self.classes,
            self.threads,
            if self.threads == 1 { "" } else { "s" }
        )?;
        if self.views > 1 {
            write!(f, ", {} views", self.views)?;
        }
        write!(f, ")")
    }
}

/// How the output vector becomes probabilities.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OutputMode {
    /// Already probabilities (metadata says so, or a quantised output whose range is [0, 1]).
    Probabilities,
    /// Logits: apply softmax.
    Logits,
    /// No metadata, float output: apply softmax unless the vector already is a probability
    /// distribution.
    Detect,
}

/// Classifies cell pictures with a `.tflite` model: float32, int8 or uint8 input and output,
/// one `[1, H, W, 3]` image input and one output vector with one value per label.
///
/// The model, its labels and how pictures are prepared for it come from a [`ModelBundle`],
/// which the classifier keeps a share of.
///
/// A model that exports its pooled embedding (a second output, metadata `outputs.embedding`)
/// can give the embedding of every view ([`TfliteClassifier::outputs`]), and answer through
/// a recalibrated head ([`TfliteClassifier::load_calibration`]): the probabilities are then
/// the mean over views of `softmax(W · embedding + b)` with the calibration's head. Without
/// a calibration the answer is the model's own probabilities output, as before. (With the
/// int8 model the shipped head recomputed from the embedding differs from the model's own
/// output by up to about 0.014, since the model computes its head in int8; with the float32
/// model they agree to about 5e-7.)
pub struct TfliteClassifier {
    compiled: CompiledModel,
    bundle: Arc<ModelBundle>,
    info: ModelInfo,
    /// Background normalisation from the metadata, applied before preprocessing.
    illumination: Option<Illumination>,
    preprocessor: Preprocessor,
    input_dtype: DType,
    input_quant: Option<Quantization>,
    /// Index of the output tensor holding the class vector.
    output_index: usize,
    output_dtype: DType,
    output_quant: Option<Quantization>,
    output_mode: OutputMode,
    /// The embedding output, for a model that exports one.
    embedding: Option<TensorOut>,
    /// The head answering instead of the shipped one, if a calibration is loaded.
    calibration: Option<ActiveCalibration>,
    /// The bundle's unfamiliar-cell gate, while it is in use ([`TfliteClassifier::use_gate`]).
    gate: Option<Gate>,
    /// Float tensor for quantised inputs (preprocessed, then quantised into the input).
    scratch: Vec<f32>,
    /// A copy of the prepared upright input, turned into the input for each further view.
    upright: Upright,
}

/// Where an extra output (the embedding) is and how to read it.
#[derive(Debug, Clone, Copy)]
struct TensorOut {
    index: usize,
    dtype: DType,
    quant: Option<Quantization>,
    len: usize,
}

/// What one classification gives beside the answer: the model's own probabilities
/// (averaged over views) and, for a model that exports it, the embedding of every view.
#[derive(Debug, Clone, PartialEq)]
pub struct CellOutputs {
    /// The model's probabilities output, averaged over the views (the shipped head's
    /// answer, whatever calibration is loaded).
    pub probabilities: Vec<f32>,
    /// One dequantised embedding per orientation view, in view order; empty for a model
    /// without an embedding output.
    pub embeddings: Vec<Vec<f32>>,
}

/// The prepared upright input tensor, kept while several views are taken, in the input's own
/// element type: each view is then a pure rearrangement of it, with no preprocessing or
/// quantising repeated.
enum Upright {
    /// Only the upright view is taken: nothing to keep.
    Unused,
    /// A float32 input.
    F32(Vec<f32>),
    /// An int8 input.
    I8(Vec<i8>),
    /// A uint8 input.
    U8(Vec<u8>),
}

impl fmt::Debug for TfliteClassifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TfliteClassifier")
            .field("info", &self.info)
            .finish()
    }
}

/// The default thread count: every core the process may use.
pub fn default_threads() -> NonZeroUsize {
    std::thread::available_parallelism().unwrap_or(NonZeroUsize::MIN)
}

impl TfliteClassifier {
    /// Loads the runtime library (`library`, else searched for in the usual places), then
    /// the model bundle at `model_path`, and compiles the model.
    pub fn open(
        model_path: &Path,
        library: Option<&Path>,
        options: &ClassifierOptions,
    ) -> Result<Self, ModelError> {
        let runtime = Runtime::load(library)?;
        let bundle = ModelBundle::load(model_path)?;
        Self::new(&runtime, Arc::new(bundle), options)
    }

    /// Compiles the model of `bundle` on an already loaded runtime and checks that it is an
    /// image classifier that agrees with the bundle's labels and metadata.
    pub fn new(
        runtime: &Runtime,
        bundle: Arc<ModelBundle>,
        options: &ClassifierOptions,
    ) -> Result<Self, ModelError> {
        let model_path = bundle.model_path();
        let invalid = |source| ModelError::InvalidModel {
            path: model_path.to_path_buf(),
            source,
        };
        let model = Model::from_bytes(runtime, bundle.bytes()).map_err(invalid)?;
        let threads = options.threads.unwrap_or_else(default_threads);
        let compiled = CompiledModel::new(&model, threads).map_err(invalid)?;
        let unsupported = |reason: String| ModelError::Unsupported {
            path: model_path.to_path_buf(),
            reason,
        };
        if compiled.input_count() != 1 {
            return Err(unsupported(format!(
                "the model has {} inputs; a classifier needs exactly one image input",
                compiled.input_count()
            )));
        }
        let outputs = bundle.metadata().and_then(|m| m.outputs.as_ref());
        let output_index = probabilities_output(&compiled, outputs).map_err(unsupported)?;
        let embedding = match outputs.and_then(|o| o.embedding.as_ref()) {
            Some(wanted) => Some(
                embedding_output(&compiled, wanted, output_index, bundle.shipped_head())
                    .map_err(unsupported)?,
            ),
            None => None,
        };
        let input = compiled.input_info(0).map_err(invalid)?.clone();
        let output = compiled.output_info(output_index).map_err(invalid)?.clone();

        if input.shape.len() != 4 || input.shape[3] != 3 {
            return Err(ModelError::NotImageInput {
                path: model_path.to_path_buf(),
                shape: input.shape,
                dtype: input.dtype,
            });
        }
        if input.shape[0] != 1 {
            return Err(unsupported(format!(
                "input batch size is {}; only single images (batch 1) are supported",
                input.shape[0]
            )));
        }
        let (height, width) = (input.shape[1], input.shape[2]);
        if !matches!(input.dtype, DType::F32 | DType::I8 | DType::U8) {
            return Err(ModelError::NotImageInput {
                path: model_path.to_path_buf(),
                shape: input.shape,
                dtype: input.dtype,
            });
        }
        let input_quant = quantisation_for(input.dtype, input.quantization)
            .map_err(|what| unsupported(format!("the {} input {what}", input.dtype)))?;
        if !matches!(output.dtype, DType::F32 | DType::I8 | DType::U8) {
            return Err(unsupported(format!(
                "the output is {}; only float32, int8 and uint8 outputs are supported",
                output.dtype
            )));
        }
        let output_quant = quantisation_for(output.dtype, output.quantization)
            .map_err(|what| unsupported(format!("the {} output {what}", output.dtype)))?;
        let classes = output.element_count();
        if output.shape.iter().filter(|&&d| d != 1).count() > 1 {
            return Err(unsupported(format!(
                "the output shape {:?} is not a single class vector",
                output.shape
            )));
        }
        let labels = bundle.labels().len();
        if labels != classes {
            return Err(ModelError::LabelCount {
                labels_path: bundle.labels_path().to_path_buf(),
                model: model_path.to_path_buf(),
                labels,
                outputs: classes,
            });
        }

        let (height, width) = (
            u32::try_from(height).map_err(|_| unsupported("input too large".into()))?,
            u32::try_from(width).map_err(|_| unsupported("input too large".into()))?,
        );
        if let Some(meta) = bundle.metadata()
            && (meta.input_size != width || meta.input_size != height)
        {
            return Err(ModelError::Metadata {
                path: bundle.metadata_path().to_path_buf(),
                reason: format!(
                    "input_size {} does not match the model input {width}x{height}",
                    meta.input_size
                ),
            });
        }
        let spec = bundle.preprocessing(width, height);
        let output_mode = match (bundle.output(), output_quant) {
            (Some(OutputKind::Probabilities), _) => OutputMode::Probabilities,
            (Some(OutputKind::Logits), _) => OutputMode::Logits,
            (None, Some(q)) if quantised_range_is_unit(output.dtype, q) => {
                OutputMode::Probabilities
            }
            (None, Some(_)) => OutputMode::Logits,
            (None, None) => OutputMode::Detect,
        };
        let views = options
            .views
            .map_or_else(|| bundle.views(), NonZeroUsize::get);
        views::check_views(views, width as usize, height as usize).map_err(unsupported)?;

        let info = ModelInfo {
            path: model_path.to_path_buf(),
            name: bundle.name().to_string(),
            version: bundle.version().map(str::to_string),
            input_width: width,
            input_height: height,
            input_dtype: input.dtype.to_string(),
            output_dtype: output.dtype.to_string(),
            classes,
            threads: threads.get(),
            views,
            has_metadata: bundle.metadata().is_some(),
            embedding_size: embedding.map(|e| e.len),
            preprocessing: spec,
            library: runtime.library_path().to_path_buf(),
        };
        log::info!("model loaded: {info}");
        let scratch = if input.dtype == DType::F32 {
            Vec::new()
        } else {
            vec![0.0; spec.tensor_len()]
        };
        let len = spec.tensor_len();
        let upright = match input.dtype {
            _ if views == 1 => Upright::Unused,
            DType::I8 => Upright::I8(vec![0; len]),
            DType::U8 => Upright::U8(vec![0; len]),
            _ => Upright::F32(vec![0.0; len]),
        };
        let illumination = bundle.metadata().and_then(|m| m.illumination.clone());
        // The gate reads the embedding; a model that does not export it cannot use one.
        let gate = bundle.gate().filter(|_| embedding.is_some()).cloned();
        if let Some(g) = &gate {
            log::info!(
                "unfamiliar-cell gate {} in use: cells unlike the model's classes are counted \
                 as unidentified",
                g.identity()
            );
        }
        Ok(Self {
            compiled,
            bundle,
            info,
            illumination,
            preprocessor: Preprocessor::new(spec),
            input_dtype: input.dtype,
            input_quant,
            output_index,
            output_dtype: output.dtype,
            output_quant,
            output_mode,
            embedding,
            calibration: None,
            gate,
            scratch,
            upright,
        })
    }

    /// Loads the calibration at `path` (checked against this model: its sha256, labels and
    /// embedding size) and answers with its head from now on. On error the classifier is
    /// unchanged: it goes on answering as before.
    pub fn load_calibration(
        &mut self,
        path: &Path,
    ) -> Result<&ActiveCalibration, CalibrationError> {
        let calibration = ActiveCalibration::load(path, &self.bundle)?;
        log::info!(
            "calibration {} loaded from {}: the model's answers now come from its head",
            calibration.identity(),
            path.display()
        );
        Ok(self.calibration.insert(calibration))
    }

    /// The calibration answering, `None` when the shipped head does.
    pub fn calibration(&self) -> Option<&ActiveCalibration> {
        self.calibration.as_ref()
    }

    /// Turns the bundle's unfamiliar-cell gate on (as it is when loaded) or off; returns
    /// whether a gate is now in use (never for a model without one).
    pub fn use_gate(&mut self, on: bool) -> bool {
        self.gate = if on {
            self.bundle
                .gate()
                .filter(|_| self.embedding.is_some())
                .cloned()
        } else {
            None
        };
        self.gate.is_some()
    }

    /// The unfamiliar-cell gate in use, if any.
    pub fn gate(&self) -> Option<&Gate> {
        self.gate.as_ref()
    }

    /// Whether the model exports its embedding (and so can be recalibrated).
    pub fn has_embedding(&self) -> bool {
        self.embedding.is_some()
    }

    /// Classifies `image` once and returns the model's own probabilities (averaged over
    /// the views, whatever calibration is loaded) and every view's embedding.
    pub fn outputs(&mut self, image: &RgbImage) -> Result<CellOutputs, ClassifyError> {
        self.prepare(image)?;
        let mut sum = vec![0.0f32; self.info.classes];
        let mut embeddings = Vec::with_capacity(self.info.views);
        let with_embedding = self.embedding.is_some();
        self.run_views(&mut |me| {
            for (s, p) in sum.iter_mut().zip(me.probabilities_now()?) {
                *s += p;
            }
            if with_embedding {
                embeddings.push(me.read_embedding()?);
            }
            Ok(())
        })?;
        mean_in_place(&mut sum, self.info.views);
        Ok(CellOutputs {
            probabilities: sum,
            embeddings,
        })
    }

    /// The embedding of every orientation view of `image`, dequantised: what a head reads.
    pub fn embeddings(&mut self, image: &RgbImage) -> Result<Vec<Vec<f32>>, ClassifyError> {
        if self.embedding.is_none() {
            return Err(ClassifyError::NoEmbedding);
        }
        self.prepare(image)?;
        let mut embeddings = Vec::with_capacity(self.info.views);
        self.run_views(&mut |me| {
            embeddings.push(me.read_embedding()?);
            Ok(())
        })?;
        Ok(embeddings)
    }

    /// What the model is.
    pub fn info(&self) -> &ModelInfo {
        &self.info
    }

    /// The model's files this classifier runs: labels, metadata, checksum, paths.
    pub fn bundle(&self) -> &Arc<ModelBundle> {
        &self.bundle
    }

    /// The value of one quantisation step of the output when the model's quantised output
    /// is read as probabilities as it is (no softmax after it); `None` for float outputs
    /// and logits. Such probabilities sum to 1 only within about a step per class.
    pub fn output_step(&self) -> Option<f32> {
        match (self.output_quant, self.output_mode) {
            (Some(q), OutputMode::Probabilities) => Some(q.scale),
            _ => None,
        }
    }

    /// The input tensor exactly as the model receives it for `image` (float values; for
    /// quantised models, before quantisation). For checking preprocessing end to end.
    pub fn preprocess(&mut self, image: &RgbImage) -> Result<Vec<f32>, ClassifyError> {
        let image = lit(self.illumination.as_ref(), image);
        let mut out = vec![0.0; self.preprocessor.spec().tensor_len()];
        self.preprocessor.run(&image, &mut out)?;
        Ok(out)
    }

    fn fill_input(&mut self, image: &RgbImage) -> Result<(), ClassifyError> {
        let lit_image = lit(self.illumination.as_ref(), image);
        let image: &RgbImage = &lit_image;
        match (self.input_dtype, self.input_quant) {
            (DType::I8, Some(q)) => {
                self.preprocessor.run(image, &mut self.scratch)?;
                let slot = self.compiled.input_mut::<i8>(0)?;
                preprocess::quantise_i8(&self.scratch, q.scale, q.zero_point, slot);
            }
            (DType::U8, Some(q)) => {
                self.preprocessor.run(image, &mut self.scratch)?;
                let slot = self.compiled.input_mut::<u8>(0)?;
                preprocess::quantise_u8(&self.scratch, q.scale, q.zero_point, slot);
            }
            _ => {
                let slot = self.compiled.input_mut::<f32>(0)?;
                self.preprocessor.run(image, slot)?;
            }
        }
        match &mut self.upright {
            Upright::Unused => {}
            Upright::F32(keep) => keep.copy_from_slice(self.compiled.input_mut::<f32>(0)?),
            Upright::I8(keep) => keep.copy_from_slice(self.compiled.input_mut::<i8>(0)?),
            Upright::U8(keep) => keep.copy_from_slice(self.compiled.input_mut::<u8>(0)?),
        }
        Ok(())
    }

    /// Runs every orientation view of the prepared input and averages the probabilities.
    fn infer_views(&mut self) -> Result<Vec<f32>, ClassifyError> {
        let mut sum = vec![0.0f32; self.info.classes];
        self.run_views(&mut |me| {
            for (s, p) in sum.iter_mut().zip(me.probabilities_now()?) {
                *s += p;
            }
            Ok(())
        })?;
        mean_in_place(&mut sum, self.info.views);
        Ok(sum)
    }

    /// Runs the model once per orientation view of the prepared input (the upright one
    /// first) and lets `visit` read the outputs after each run.
    fn run_views(
        &mut self,
        visit: &mut dyn FnMut(&Self) -> Result<(), ClassifyError>,
    ) -> Result<(), ClassifyError> {
        let (h, w) = (
            self.info.input_height as usize,
            self.info.input_width as usize,
        );
        for view in 0..self.info.views {
            if view > 0 {
                let compiled = &mut self.compiled;
                match &self.upright {
                    Upright::Unused => {}
                    Upright::F32(keep) => {
                        views::write_view(keep, compiled.input_mut::<f32>(0)?, h, w, view);
                    }
                    Upright::I8(keep) => {
                        views::write_view(keep, compiled.input_mut::<i8>(0)?, h, w, view);
                    }
                    Upright::U8(keep) => {
                        views::write_view(keep, compiled.input_mut::<u8>(0)?, h, w, view);
                    }
                }
            }
            self.compiled.run()?;
            visit(self)?;
        }
        Ok(())
    }

    /// The embedding output of the last run, dequantised.
    fn read_embedding(&self) -> Result<Vec<f32>, ClassifyError> {
        let out = self.embedding.ok_or(ClassifyError::NoEmbedding)?;
        self.read_dequantised(out.index, out.dtype, out.quant)
    }

    fn read_output(&self) -> Result<Vec<f32>, ClassifyError> {
        self.read_dequantised(self.output_index, self.output_dtype, self.output_quant)
    }

    /// Output `index` of the last run as float values (int8 and uint8 dequantised).
    fn read_dequantised(
        &self,
        index: usize,
        dtype: DType,
        quant: Option<Quantization>,
    ) -> Result<Vec<f32>, ClassifyError> {
        let values = match (dtype, quant) {
            (DType::I8, Some(q)) => self
                .compiled
                .output::<i8>(index)?
                .iter()
                .map(|&v| dequantise(i64::from(v), q))
                .collect(),
            (DType::U8, Some(q)) => self
                .compiled
                .output::<u8>(index)?
                .iter()
                .map(|&v| dequantise(i64::from(v), q))
                .collect(),
            _ => self.compiled.output::<f32>(index)?.to_vec(),
        };
        Ok(values)
    }
}

fn quantisation_for(
    dtype: DType,
    q: Option<Quantization>,
) -> Result<Option<Quantization>, &'static str> {
    match dtype {
        DType::F32 => Ok(None),
        _ => match q {
            Some(q) if q.scale.is_finite() && q.scale > 0.0 => Ok(Some(q)),
            _ => Err("has no per-tensor quantisation (scale and zero point)"),
        },
    }
}

/// Whether every value a quantised tensor can hold lies in [0, 1]: the signature of a
/// quantised softmax output.
fn quantised_range_is_unit(dtype: DType, q: Quantization) -> bool {
    let (lo, hi) = if dtype == DType::I8 {
        (-128, 127)
    } else {
        (0, 255)
    };
    let min = dequantise(lo, q);
    let max = dequantise(hi, q);
    min >= -1e-6 && max <= 1.0 + 1e-6
}

fn dequantise(v: i64, q: Quantization) -> f32 {
    (v - q.zero_point) as f32 * q.scale
}

/// Whether `v` already is a probability distribution (within float rounding).
fn is_distribution(v: &[f32]) -> bool {
    let sum: f32 = v.iter().sum();
    v.iter().all(|x| (0.0..=1.0 + 1e-4).contains(x)) && (sum - 1.0).abs() <= 1e-3
}

/// Numerically stable softmax in place.
pub fn softmax(v: &mut [f32]) {
    let max = v.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    if !max.is_finite() {
        return;
    }
    let mut sum = 0.0;
    for x in v.iter_mut() {
        *x = (*x - max).exp();
        sum += *x;
    }
    for x in v.iter_mut() {
        *x /= sum;
    }
}

impl TfliteClassifier {
    /// The first half of [`Classifier::classify`]: preprocesses `image` into the model's
    /// input tensor (for timing the two halves apart).
    pub fn prepare(&mut self, image: &RgbImage) -> Result<(), ClassifyError> {
        self.fill_input(image)
    }

    /// The second half of [`Classifier::classify`] for one view: runs the model once on the
    /// prepared (upright) input and returns one probability per label. `classify` averages
    /// this over the model's [`ModelInfo::views`].
    pub fn infer(&mut self) -> Result<Vec<f32>, ClassifyError> {
        self.compiled.run()?;
        self.probabilities_now()
    }

    /// The probabilities of the last run, from the model's probabilities output.
    fn probabilities_now(&self) -> Result<Vec<f32>, ClassifyError> {
        let mut out = self.read_output()?;
        let apply_softmax = match self.output_mode {
            OutputMode::Probabilities => false,
            OutputMode::Logits => true,
            OutputMode::Detect => !is_distribution(&out),
        };
        if apply_softmax {
            softmax(&mut out);
        }
        Ok(out)
    }

    /// The prepared input tensor's bytes, exactly as the runtime reads them (after
    /// [`TfliteClassifier::prepare`]; a classification with several views leaves the last
    /// view there).
    pub fn input_bytes(&self) -> Result<&[u8], ClassifyError> {
        Ok(self.compiled.input_bytes(0)?)
    }
}

impl Classifier for TfliteClassifier {
    fn labels(&self) -> &[String] {
        self.bundle.labels()
    }

    fn embeddings(&mut self, image: &RgbImage) -> Result<Vec<Vec<f32>>, ClassifyError> {
        TfliteClassifier::embeddings(self, image)
    }

    /// Preprocesses, runs every orientation view (one run each) and returns one value per
    /// label, averaged over the views. Probabilities from a quantised output are dequantised
    /// as they are, so they sum to 1 only within quantisation error.
    ///
    /// With a calibration loaded, the answer is instead the mean over the views of the
    /// calibrated head's softmax of each view's embedding.
    fn classify(&mut self, image: &RgbImage) -> Result<Vec<f32>, ClassifyError> {
        if self.calibration.is_some() {
            let embeddings = self.embeddings(image)?;
            return match &self.calibration {
                Some(c) => Ok(c.head().cell_probabilities(&embeddings)?),
                None => Err(ClassifyError::NoEmbedding),
            };
        }
        self.prepare(image)?;
        self.infer_views()
    }

    /// With a gate in use, one pass gives both the answer (the model's own probabilities,
    /// or the calibrated head's from the same embeddings) and the gate's verdict.
    fn classify_cell(&mut self, image: &RgbImage) -> Result<CellAnswer, ClassifyError> {
        if self.gate.is_none() {
            return Ok(CellAnswer::known(self.classify(image)?));
        }
        let outputs = self.outputs(image)?;
        let probabilities = match &self.calibration {
            Some(c) => c.head().cell_probabilities(&outputs.embeddings)?,
            None => outputs.probabilities,
        };
        let unfamiliar = self
            .gate
            .as_ref()
            .is_some_and(|g| g.flags(&outputs.embeddings));
        Ok(CellAnswer {
            probabilities,
            unfamiliar,
        })
    }

    fn provenance(&self) -> Provenance {
        let model = match &self.info.version {
            Some(v) => format!("{} {v}", self.info.name),
            None => self.info.name.clone(),
        };
        Provenance {
            model: Some(model),
            calibration: self.calibration.as_ref().map(ActiveCalibration::identity),
            head: self.calibration.as_ref().map(ActiveCalibration::head_name),
            gate: self.gate.as_ref().map(|g| g.identity().to_string()),
        }
    }
}

/// Divides a sum over `views` views by their number.
fn mean_in_place(sum: &mut [f32], views: usize) {
    if views > 1 {
        for s in sum {
            *s /= views as f32;
        }
    }
}

/// The index of the output holding the class vector: the one `outputs` in `metadata.json`
/// names (by signature name, else index), or the only output.
fn probabilities_output(
    compiled: &CompiledModel,
    outputs: Option<&metadata::Outputs>,
) -> Result<usize, String> {
    let count = compiled.output_count();
    let Some(outputs) = outputs else {
        return if count == 1 {
            Ok(0)
        } else {
            Err(format!(
                "the model has {count} outputs and its metadata.json names none of them \
                 (\"outputs\": {{\"probabilities\": {{\"index\": N}}}}); a classifier needs to know \
                 which is the class vector"
            ))
        };
    };
    let wanted = &outputs.probabilities;
    match &wanted.name {
        Some(name) => compiled
            .output_infos()
            .position(|t| &t.name == name)
            .ok_or_else(|| {
                let names: Vec<&str> = compiled.output_infos().map(|t| t.name.as_str()).collect();
                format!(
                    "metadata.json names the output {name:?}, but the model's outputs are {names:?}"
                )
            }),
        None if wanted.index < count => Ok(wanted.index),
        None => Err(format!(
            "metadata.json names output {} but the model has {count} outputs",
            wanted.index
        )),
    }
}

/// The embedding output `metadata.json` names (by signature name, else index): another
/// output than the probabilities, a float32, int8 or uint8 vector of the shipped head's
/// size.
fn embedding_output(
    compiled: &CompiledModel,
    wanted: &metadata::OutputTensor,
    probabilities: usize,
    head: Option<&crate::calib::Head>,
) -> Result<TensorOut, String> {
    let count = compiled.output_count();
    let index = match &wanted.name {
        Some(name) => compiled
            .output_infos()
            .position(|t| &t.name == name)
            .ok_or_else(|| {
                format!("metadata.json names the embedding output {name:?}, which the model lacks")
            })?,
        None if wanted.index < count => wanted.index,
        None => {
            return Err(format!(
                "metadata.json names embedding output {} but the model has {count} outputs",
                wanted.index
            ));
        }
    };
    if index == probabilities {
        return Err("metadata.json names the same output for probabilities and embedding".into());
    }
    let info = compiled
        .output_infos()
        .nth(index)
        .ok_or_else(|| format!("the model has no output {index}"))?;
    if !matches!(info.dtype, DType::F32 | DType::I8 | DType::U8) {
        return Err(format!(
            "the embedding output is {}; only float32, int8 and uint8 are supported",
            info.dtype
        ));
    }
    let quant = quantisation_for(info.dtype, info.quantization)
        .map_err(|what| format!("the {} embedding output {what}", info.dtype))?;
    let len = info.element_count();
    if let Some(size) = wanted.size.filter(|&s| s != len) {
        return Err(format!(
            "metadata.json gives the embedding {size} values, the model's output has {len}"
        ));
    }
    if let Some(head) = head.filter(|h| h.dim() != len) {
        return Err(format!(
            "the head file reads {} embedding values, the model's output has {len}",
            head.dim()
        ));
    }
    Ok(TensorOut {
        index,
        dtype: info.dtype,
        quant,
        len,
    })
}

/// `image` with the model's background normalisation applied, or `image` itself when the
/// model asks for none.
fn lit<'a>(spec: Option<&Illumination>, image: &'a RgbImage) -> Cow<'a, RgbImage> {
    match spec {
        Some(spec) => Cow::Owned(illumination::normalise(image, spec)),
        None => Cow::Borrowed(image),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn softmax_is_stable_and_normalised() {
        let mut v = vec![1000.0, 1001.0, 999.0];
        softmax(&mut v);
        let sum: f32 = v.iter().sum();
        assert!((sum - 1.0).abs() < 1e-6);
        assert!(v[1] > v[0] && v[0] > v[2]);
    }

    #[test]
    fn distribution_detection() {
        assert!(is_distribution(&[0.25, 0.25, 0.5]));
        assert!(!is_distribution(&[0.5, 0.6]));
        assert!(!is_distribution(&[-0.1, 1.1]));
        assert!(!is_distribution(&[2.0, -1.0]));
    }

    #[test]
    fn quantised_softmax_ranges_are_recognised() {
        let uint8_softmax = Quantization {
            scale: 1.0 / 256.0,
            zero_point: 0,
        };
        let int8_softmax = Quantization {
            scale: 1.0 / 256.0,
            zero_point: -128,
        };
        let int8_logits = Quantization {
            scale: 0.1,
            zero_point: 3,
        };
        assert!(quantised_range_is_unit(DType::U8, uint8_softmax));
        assert!(quantised_range_is_unit(DType::I8, int8_softmax));
        assert!(!quantised_range_is_unit(DType::I8, int8_logits));
    }
}
