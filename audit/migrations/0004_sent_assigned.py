from django.db import migrations, models


class Migration(migrations.Migration):
    """Two actions for studies from a PACS: results sent out, a study handed to a clinician."""

    dependencies = [
        ('audit', '0003_changed_action'),
    ]

    operations = [
        migrations.AlterField(
            model_name='auditevent',
            name='action',
            field=models.CharField(choices=[('viewed', 'viewed'), ('uploaded', 'uploaded'), ('downloaded', 'downloaded'), ('exported', 'exported'), ('reviewed', 'reviewed'), ('deleted', 'deleted'), ('changed', 'changed'), ('sent', 'sent'), ('assigned', 'assigned')], max_length=16),
        ),
    ]
