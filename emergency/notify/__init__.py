"""The notification family: what is due becomes a notification, and a notification reaches people.

- reminders.py  the sweep (pure rules over plain rows -> notifications with a unique key, plus one
                outbox row per channel), the in-app inbox's read state and the reminder settings;
- channels.py   delivery through the outbox: SMTP e-mail, WeCom and DingTalk group robots, with
                claims, attempts and backoff.

When they run is not decided here: emergency/scheduler.py (on top, since it also wires the backup
and other families' jobs) calls `reminders.sweep` and `channels.deliver` on its clock.
"""
