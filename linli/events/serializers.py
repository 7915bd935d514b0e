"""Serializers of the events API. The contact phone is only ever shown masked."""

from rest_framework import serializers

from linli.areas.models import Area
from linli.core.serializers import CachedFieldsMixin

from .choices import EventChannel, Priority, Satisfaction
from .models import Attachment, Department, Event, EventCategory, EventStep


class StepSerializer(CachedFieldsMixin, serializers.ModelSerializer):
    attachments = serializers.SerializerMethodField()

    class Meta:
        model = EventStep
        fields = ["id", "action", "from_status", "to_status", "actor_name", "actor_level", "actor_area",
                  "actor_department", "to_area", "to_department", "time", "note", "data", "attachments"]  # fmt: skip

    def get_attachments(self, step):
        return [{"id": a.id, "name": a.original_name, "content_type": a.content_type, "size": a.size}
                for a in step.attachments.all()]  # fmt: skip


class EventSerializer(CachedFieldsMixin, serializers.ModelSerializer):
    category_code = serializers.CharField(source="category.code", read_only=True)
    category_name = serializers.CharField(source="category.name", read_only=True)
    card = serializers.SerializerMethodField()

    class Meta:
        model = Event
        fields = [
            "id", "number", "channel", "category", "category_code", "category_name", "priority", "title",
            "description", "location_area", "address", "lat", "lng", "contact_name", "contact_phone_masked",
            "status", "version", "handling_level", "area", "department", "due_at", "yellow_at", "card",
            "supervised", "was_overdue", "reported_at", "accepted_at", "closed_at", "reply", "satisfaction",
        ]  # fmt: skip
        read_only_fields = fields

    def get_card(self, event) -> str:
        return event.card()


class EventDetailSerializer(EventSerializer):
    steps = serializers.SerializerMethodField()

    class Meta(EventSerializer.Meta):
        fields = [*EventSerializer.Meta.fields, "steps"]
        read_only_fields = fields

    def get_steps(self, event) -> list[dict]:
        steps = event.steps.prefetch_related("attachments").order_by("time", "id")
        return StepSerializer(steps, many=True).data


class EventCreateSerializer(serializers.Serializer):
    category = serializers.SlugRelatedField(
        slug_field="code", queryset=EventCategory.objects.filter(active=True)
    )
    title = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    location_area = serializers.PrimaryKeyRelatedField(queryset=Area.objects.all())
    channel = serializers.ChoiceField(choices=EventChannel.choices, default=EventChannel.API)
    priority = serializers.ChoiceField(choices=Priority.choices, default=Priority.NORMAL)
    address = serializers.CharField(required=False, allow_blank=True, default="", max_length=300)
    lat = serializers.DecimalField(
        max_digits=9, decimal_places=6, required=False, allow_null=True, default=None
    )
    lng = serializers.DecimalField(
        max_digits=9, decimal_places=6, required=False, allow_null=True, default=None
    )
    contact_name = serializers.CharField(required=False, allow_blank=True, default="", max_length=50)
    contact_phone = serializers.CharField(required=False, allow_blank=True, default="", max_length=20)


class TransitionSerializer(serializers.Serializer):
    """The body of a transition: only the fields the action uses are read."""

    note = serializers.CharField(required=False, allow_blank=True, default="")
    version = serializers.IntegerField(required=False, help_text="optional: refuse if the event changed")
    to_area = serializers.PrimaryKeyRelatedField(queryset=Area.objects.all(), required=False, allow_null=True)
    to_department = serializers.PrimaryKeyRelatedField(queryset=Department.objects.filter(active=True),
                                                       required=False, allow_null=True)  # fmt: skip
    until = serializers.DateTimeField(required=False)
    review_date = serializers.DateField(required=False)
    satisfaction = serializers.ChoiceField(choices=Satisfaction.choices, required=False)


class AttachmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Attachment
        fields = ["id", "original_name", "content_type", "size", "uploaded_at"]
