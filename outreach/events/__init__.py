"""Events as data: a campaign's sessions, their calendar files, registration with a waiting list, reminders."""
