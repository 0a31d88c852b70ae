"""social-core reads every setting through its strategy: ours reads the admin's rows first."""

from social_django.strategy import DjangoStrategy

from . import selectors


class ConfiguredStrategy(DjangoStrategy):
    def get_setting(self, name):
        value = selectors.row_setting(name)
        return super().get_setting(name) if value is selectors.UNSET else value
