"""What starts flows: HTTP hooks, record changes (the tables' streams), events, dates and
schedules, segments. Each finds its published flows through the trigger index, never by
scanning, and enrolls contacts with ids derived from what started them, so a re-delivery
enrolls no one twice."""
