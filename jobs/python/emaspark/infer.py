"""Batch inference from PySpark with a checkpoint of the training job.

:class:`ImageClassifier` is the Python peer of the Spark ML Transformer ``ai.emaspark.infer.ImageClassifier``
(a ``JavaTransformer``): the same Params and defaults, the same scoring (pycls's test transform, the
evaluation's batch size), saved and loaded like any Spark ML stage. Give Spark the job jar twice, for the
Java classes and for this package at the jar's root::

    spark-submit --jars emaspark-jobs.jar --py-files emaspark-jobs.jar score.py

    # score.py
    from pyspark.sql import SparkSession
    from emaspark.infer import ImageClassifier
    spark = SparkSession.builder.getOrCreate()
    photos = spark.read.format("binaryFile").load("hdfs://nn:8020/photos")
    scored = ImageClassifier(checkpoint="hdfs://nn:8020/runs/r50/checkpoints/best", entry="ema",
                             inputCol="content", outputCol="prediction", topK=5).transform(photos)
    scored.select("path", "prediction.name", "prediction.probability").show()

From plain ``python`` or a notebook, set ``spark.jars`` and ``spark.submit.pyFiles`` to the jar when building
the SparkSession and import after ``getOrCreate()``, which puts the jar on ``sys.path``. The Spark settings
are the Predict job's (conf/spark-*.conf: DJL offline, its engine cache). The output column is a struct
(class_index, wnid, name, probability, top_k); an image that does not decode gets a null prediction.
"""

from typing import Any, Callable, Dict, Optional, Type

from pyspark import keyword_only
from pyspark.ml.param import Param, Params, TypeConverters
from pyspark.ml.param.shared import HasInputCol, HasOutputCol
from pyspark.ml.util import JavaMLReadable, JavaMLReader, JavaMLWritable
from pyspark.ml.wrapper import JavaTransformer

__all__ = ["ImageClassifier"]

_JAVA_CLASS = "ai.emaspark.infer.ImageClassifier"


def _param(name: str, converter: Callable[[Any], Any], doc: str) -> Param:
    """A Param declared as pyspark's own classes declare theirs (doc as the Java class's)."""
    return Param(Params._dummy(), name, doc, typeConverter=converter)


def _with_accessors(cls: Type["ImageClassifier"]) -> Type["ImageClassifier"]:
    """Adds getX and setX for every Param of cls that has none (pyspark's own classes write each by hand)."""
    for name in [n for n in dir(cls) if isinstance(getattr(cls, n), Param)]:
        suffix = name[0].upper() + name[1:]
        if not hasattr(cls, "get" + suffix):
            setattr(cls, "get" + suffix, _getter(name))
        if not hasattr(cls, "set" + suffix):
            setattr(cls, "set" + suffix, _setter(name))
    return cls


def _getter(name: str) -> Callable[[Params], Any]:
    def get(self: Params) -> Any:
        param = self.getParam(name)
        return self.getOrDefault(param) if self.isDefined(param) else None  # None as Java's getCheckpoint

    get.__name__ = "get" + name[0].upper() + name[1:]
    get.__doc__ = "Gets the value of %s or its default value (None when it has neither)." % name
    return get


def _setter(name: str) -> Callable[[Params, Any], Params]:
    def set_(self: Params, value: Any) -> Params:
        return self._set(**{name: value})

    set_.__name__ = "set" + name[0].upper() + name[1:]
    set_.__doc__ = "Sets the value of :py:attr:`%s`." % name
    return set_


class _Reader(JavaMLReader["ImageClassifier"]):
    @classmethod
    def _java_loader_class(cls, clazz: Type[Any]) -> str:
        return _JAVA_CLASS  # pyspark would derive "emaspark.infer.ImageClassifier" from the module name


@_with_accessors
class ImageClassifier(JavaTransformer, HasInputCol, HasOutputCol, JavaMLReadable["ImageClassifier"], JavaMLWritable):
    """Classifies images with a checkpoint of the training job: the input column holds image file bytes
    (``binaryFile``'s ``content``, a prepared shard's ``image``) or Spark's image struct; the output column
    the top class and the top k. Every Param has a getX and a setX.

    A new Param of the Java class takes three lines here: its declaration below, its default in _DEFAULTS
    and its keyword in __init__ (setParams takes the same keywords; getX and setX come with the declaration).
    """

    # inputCol and outputCol come from HasInputCol and HasOutputCol.
    checkpoint: "Param[str]" = _param("checkpoint", TypeConverters.toString, "a checkpoint folder "
        "(OUT_DIR/checkpoints/model_epoch_NNNN or best) or a run's OUT_DIR (its newest checkpoint that verifies), "
        "any Hadoop URI")
    entry: "Param[str]" = _param("entry", TypeConverters.toString, "weights to score with: ema, model, best "
        "(the lower top-1 error of the two in the checkpoint's meta.json), or a power EMA of EMA.POWER_SIGMA_RELS by "
        "name (p0.100)")
    dataset: "Param[str]" = _param("dataset", TypeConverters.toString, "prepared dataset whose manifest.json names "
        "the classes; empty: the checkpoint's TRAIN.DATASET")
    topK: "Param[int]" = _param("topK", TypeConverters.toInt, "classes listed in top_k, best first (at most the "
        "model's classes)")
    applySoftmax: "Param[bool]" = _param("applySoftmax", TypeConverters.toBoolean, "probabilities by softmax; "
        "false: the raw logits")
    batchSize: "Param[int]" = _param("batchSize", TypeConverters.toInt, "images per forward pass; 0: the "
        "evaluation's (TEST.BATCH_SIZE / NUM_GPUS)")
    decodeThreads: "Param[int]" = _param("decodeThreads", TypeConverters.toInt, "image decode threads per task; "
        "0: DATA_LOADER.NUM_WORKERS")
    checkpointSha256: "Param[str]" = _param("checkpointSha256", TypeConverters.toString, "SHA-256 of the weights "
        "this classifier scores with, recorded when it is saved; other weights are refused unless followNewest; "
        "empty: whatever the checkpoint holds")
    followNewest: "Param[bool]" = _param("followNewest", TypeConverters.toBoolean, "score with whatever weights the "
        "checkpoint (OUT_DIR, best) holds now, even if they are not the ones recorded in checkpointSha256")

    # The Java class's defaults (ImageClassifierParams); checkpoint has none.
    _DEFAULTS: Dict[str, Any] = dict(
        inputCol="image",
        outputCol="prediction",
        entry="ema",
        dataset="",
        topK=5,
        applySoftmax=True,
        batchSize=0,
        decodeThreads=0,
        checkpointSha256="",
        followNewest=False,
    )

    @keyword_only
    def __init__(
        self,
        *,
        inputCol: Optional[str] = None,
        outputCol: Optional[str] = None,
        checkpoint: Optional[str] = None,
        entry: Optional[str] = None,
        dataset: Optional[str] = None,
        topK: Optional[int] = None,
        applySoftmax: Optional[bool] = None,
        batchSize: Optional[int] = None,
        decodeThreads: Optional[int] = None,
        checkpointSha256: Optional[str] = None,
        followNewest: Optional[bool] = None,
    ) -> None:
        super().__init__()
        self._java_obj = self._new_java_obj(_JAVA_CLASS, self.uid)
        self._setDefault(**self._DEFAULTS)
        self.setParams(**self._input_kwargs)

    @keyword_only
    def setParams(self, **kwargs: Any) -> "ImageClassifier":
        """setParams(self, \\*, inputCol=None, outputCol=None, checkpoint=None, ...): the keywords of __init__."""
        unknown = sorted(set(kwargs) - {p.name for p in self.params})
        if unknown:
            raise TypeError("ImageClassifier has no Param %s; its Params: %s"
                            % (", ".join(unknown), ", ".join(p.name for p in self.params)))
        return self._set(**kwargs)

    @classmethod
    def read(cls) -> _Reader:
        """An MLReader of the Java class's saved Params (``ImageClassifier.load(path)``)."""
        return _Reader(cls)

    @classmethod
    def _from_java(cls, java_stage: Any) -> "ImageClassifier":
        # JavaParams._from_java would import the Python class by the Java class's name (ai.emaspark...).
        stage = cls()
        stage._java_obj = java_stage
        stage._resetUid(java_stage.uid())
        stage._transfer_params_from_java()
        return stage
