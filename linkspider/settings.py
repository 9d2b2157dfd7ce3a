"""Scrapy settings for linkspider: polite by default, every value overridable with -s."""

BOT_NAME = "linkspider"
SPIDER_MODULES = ["linkspider.spiders"]
NEWSPIDER_MODULE = "linkspider.spiders"
COMMANDS_MODULE = "linkspider.commands"
