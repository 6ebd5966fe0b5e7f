"""GraphQL over the job records: triggerMLRetraining, mlRetrainingJobs, mlRetrainingJob.

Graphene, because dagster-graphql already brings it (and graphql-core) into the dependency
tree; Strawberry would add a dependency for the same three fields.
"""

from __future__ import annotations

from typing import Annotated

import graphene
import pydantic
from fastapi import APIRouter, Body, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from graphene.types.generic import GenericScalar

from verifily.api.responses import SafeJSONResponse
from verifily.api.routes.intelgraph import trigger_model_retrain
from verifily.api.schemas import ModelRetrainBody
from verifily.errors import InputError, VerifilyError
from verifily.model_ids import check_model_id

router = APIRouter(tags=["graphql"])
STATUS_VALUES = ("QUEUED", "RUNNING", "SUCCEEDED", "FAILED", "CANCELED")


class MLRetrainingJob(graphene.ObjectType):
    """A retraining job: its id for good, its Dagster run once it exists, its events."""

    id = graphene.ID(required=True)
    dagsterRunId = graphene.String()
    modelId = graphene.String()
    reason = graphene.String()
    status = graphene.String(required=True)
    trigger = graphene.String()
    dataWindow = GenericScalar()
    recordCounts = GenericScalar()
    k8sJobName = graphene.String()
    k8sNamespace = graphene.String()
    k8sJobs = GenericScalar()
    mlflowRunId = graphene.String()
    metrics = GenericScalar()
    decision = graphene.String()
    scheduledAt = graphene.String()
    startedAt = graphene.String()
    completedAt = graphene.String()
    error = GenericScalar()
    runDir = graphene.String()
    events = GenericScalar()


class Query(graphene.ObjectType):
    mlRetrainingJobs = graphene.List(
        graphene.NonNull(MLRetrainingJob),
        required=True,
        modelId=graphene.String(),
        status=graphene.String(),
        limit=graphene.Int(default_value=20),
        offset=graphene.Int(default_value=0),
    )
    mlRetrainingJob = graphene.Field(MLRetrainingJob, jobId=graphene.ID(required=True))

    @staticmethod
    def resolve_mlRetrainingJobs(root, info, modelId=None, status=None, limit=20, offset=0):
        if modelId is not None:
            check_model_id(modelId, "modelId")
        if status is not None and status not in STATUS_VALUES:
            raise InputError(f"status must be one of {', '.join(STATUS_VALUES)}")
        if not 1 <= limit <= 100 or offset < 0:
            raise InputError("limit must be 1..100 and offset >= 0")
        jobs = info.context["app"].state.jobs
        return jobs.list_records(modelId, status, limit, offset)["jobs"]

    @staticmethod
    def resolve_mlRetrainingJob(root, info, jobId):
        try:
            return info.context["app"].state.jobs.record(jobId)
        except VerifilyError as e:
            if e.http_status == 404:
                return None
            raise


class Mutation(graphene.ObjectType):
    triggerMLRetraining = graphene.Field(
        graphene.NonNull(MLRetrainingJob),
        modelId=graphene.String(required=True),
        reason=graphene.String(),
    )

    @staticmethod
    def resolve_triggerMLRetraining(root, info, modelId, reason=None):
        check_model_id(modelId, "modelId")
        # The REST route's body schema, so `reason` obeys the same limits over GraphQL.
        try:
            ModelRetrainBody(reason=reason)
        except pydantic.ValidationError as e:
            raise InputError("; ".join(str(err["msg"]) for err in e.errors())) from None
        return trigger_model_retrain(info.context["app"], modelId, reason)


schema = graphene.Schema(query=Query, mutation=Mutation, auto_camelcase=False)


@router.post("/graphql")
async def graphql_endpoint(request: Request, payload: Annotated[dict, Body()]) -> JSONResponse:
    """Execute one GraphQL operation (`query`, `variables`, `operationName`)."""
    query = payload.get("query")
    variables = payload.get("variables") or {}
    op = payload.get("operationName")
    if not isinstance(query, str) or not isinstance(variables, dict):
        return SafeJSONResponse({"errors": [{"message": "`query` must be a string"}]}, 400)
    if op is not None and not isinstance(op, str):
        return SafeJSONResponse({"errors": [{"message": "`operationName` must be a string"}]}, 400)
    result = await run_in_threadpool(
        schema.execute,
        query,
        variable_values=variables,
        operation_name=op,
        context_value={"app": request.app},
    )
    body: dict = {"data": result.data}
    if result.errors:
        body["errors"] = [{"message": str(getattr(e, "message", e))} for e in result.errors]
    return SafeJSONResponse(body, status_code=400 if result.data is None and result.errors else 200)
