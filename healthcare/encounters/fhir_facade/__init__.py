"""The FHIR R4 facade of the stored encounters (/api/v1/fhir/), without HTTP.

resources: FHIR ids, Encounter and OperationOutcome resources, checks against the R4 models.
search: Encounter search parameters -> rows -> a searchset Bundle.
capability: the CapabilityStatement (GET /fhir/metadata).

Writes go through services.fhir, which stores a resource like every other ingest.
"""
