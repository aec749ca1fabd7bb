from django.db import models


class Encounter(models.Model):
    """The product's encounters table, read as it is (unmanaged: never created or migrated here)."""

    source = models.CharField(max_length=32)
    source_id = models.CharField(max_length=128)
    patient_key = models.CharField(max_length=64)
    department_id = models.BigIntegerField()
    encounter_class = models.CharField(max_length=32)
    status = models.CharField(max_length=16)
    start = models.DateTimeField()
    end = models.DateTimeField(null=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        managed = False
        db_table = "encounters_encounter"

    def __str__(self) -> str:
        return f"{self.source}:{self.source_id}"
