"""Background jobs (django-tasks, ``imports`` queue): run by ``linli worker`` beside the web processes."""

from django_tasks import task

from . import jobs


@task(queue_name="imports")
def validate_import(job_id: int) -> str:
    job = jobs.validate(job_id)
    return job.status if job is not None else "skipped"


@task(queue_name="imports")
def commit_import(job_id: int) -> str:
    job = jobs.commit(job_id)
    return job.status if job is not None else "skipped"
