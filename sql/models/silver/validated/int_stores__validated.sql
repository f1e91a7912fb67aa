{{ validated_rows('stores', required=['name', 'region']) }}
