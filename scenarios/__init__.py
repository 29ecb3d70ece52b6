"""What-if scenario files bundled with CampaignLab (``campaignlab scenarios`` lists them)."""
