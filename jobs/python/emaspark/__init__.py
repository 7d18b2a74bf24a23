"""emaspark from PySpark: ``from emaspark.infer import ImageClassifier`` (see :mod:`emaspark.infer`).

The package ships at the root of the job jar (jobs/target/emaspark-jobs.jar), beside the Java classes it
wraps: ``spark-submit --jars emaspark-jobs.jar --py-files emaspark-jobs.jar app.py`` puts both on the path.
"""
